package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// ControllerName is the endpointslice.kubernetes.io/managed-by value of the slices
// this controller owns; it is kube-controller-manager's, so consumers that look for
// it (and kube's own controller) see svcnet's slices as the standard ones.
const ControllerName = "endpointslice-controller.k8s.io"

// Limits of Options.MaxEndpointsPerSlice.
const (
	DefaultMaxEndpointsPerSlice = 100
	MaxMaxEndpointsPerSlice     = 1000
)

// Informer index names; prefixed so they cannot clash with another user of the
// same shared informers.
const (
	sliceServiceIndex = "svcnet-endpointslice/service"
	podNodeIndex      = "svcnet-endpointslice/node"
)

// staleRecheck is when a Service whose sync found the cache behind is looked at
// again if no slice event has queued it before.
const staleRecheck = time.Second

// Options tunes a Controller. The zero value is usable.
type Options struct {
	// Log receives the controller's logs; nil discards them.
	Log *slog.Logger
	// Registerer receives the controller's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Recorder receives Warning events on Services (see the package doc for
	// the reasons); nil sends none.
	Recorder record.EventRecorder
	// MaxEndpointsPerSlice caps the endpoints of one slice: 0 means
	// DefaultMaxEndpointsPerSlice, values above MaxMaxEndpointsPerSlice are
	// lowered to it.
	MaxEndpointsPerSlice int
	// Clock stamps the observed changes that become the
	// endpoints.kubernetes.io/last-change-trigger-time annotation; nil is the
	// real clock.
	Clock clock.PassiveClock
	// BatchPeriod delays the sync that a Pod change asks for, so that a burst of
	// Pod changes is written once; 0 syncs at once.
	BatchPeriod time.Duration
}

// Controller keeps the EndpointSlices of selector Services in step with their
// Pods. Its methods are safe for concurrent use; Run may be called once.
type Controller struct {
	client      kubernetes.Interface
	log         *slog.Logger
	recorder    record.EventRecorder
	clock       clock.PassiveClock
	maxPerSlice int
	batch       time.Duration

	queue    workqueue.TypedRateLimitingInterface[string]
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	podIndex cache.Indexer
	// podsByNode is false when the node index could not be added (the pod
	// informer was already running); node events then scan all Pods.
	podsByNode   bool
	sliceIndex   cache.Indexer
	slicesByName bool
	synced       []cache.InformerSynced

	expect   *expectations
	triggers *triggerTimes
	warnings *warnings
	metrics  *metrics
}

// New builds a Controller over factory's Service, Pod, Node and EndpointSlice
// informers and registers its event handlers. It starts nothing: the caller starts
// the factory and calls Run. New should be called before the factory is started,
// so the controller can add its informer indexes.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) *Controller {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	maxPerSlice := opts.MaxEndpointsPerSlice
	switch {
	case maxPerSlice <= 0:
		maxPerSlice = DefaultMaxEndpointsPerSlice
	case maxPerSlice > MaxMaxEndpointsPerSlice:
		maxPerSlice = MaxMaxEndpointsPerSlice
	}
	svcInf := factory.Core().V1().Services()
	podInf := factory.Core().V1().Pods()
	nodeInf := factory.Core().V1().Nodes()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	c := &Controller{
		client:      client,
		log:         log,
		recorder:    opts.Recorder,
		clock:       clk,
		maxPerSlice: maxPerSlice,
		batch:       opts.BatchPeriod,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpointslice"}),
		services:   svcInf.Lister(),
		pods:       podInf.Lister(),
		nodes:      nodeInf.Lister(),
		podIndex:   podInf.Informer().GetIndexer(),
		sliceIndex: sliceInf.Informer().GetIndexer(),
		synced: []cache.InformerSynced{
			svcInf.Informer().HasSynced, podInf.Informer().HasSynced,
			nodeInf.Informer().HasSynced, sliceInf.Informer().HasSynced,
		},
		expect:   newExpectations(),
		triggers: newTriggerTimes(),
		warnings: newWarnings(),
		metrics:  newMetrics(opts.Registerer),
	}
	if err := podInf.Informer().AddIndexers(cache.Indexers{podNodeIndex: podNodeName}); err != nil {
		log.Warn("pods are not indexed by node; node changes scan all pods", "err", err)
	} else {
		c.podsByNode = true
	}
	if err := sliceInf.Informer().AddIndexers(cache.Indexers{sliceServiceIndex: sliceServiceKey}); err != nil {
		log.Warn("endpointslices are not indexed by service; syncs list the namespace", "err", err)
	} else {
		c.slicesByName = true
	}
	c.addHandlers(svcInf.Informer(), podInf.Informer(), nodeInf.Informer(), sliceInf.Informer())
	return c
}

// Run waits for the informer caches, then syncs Services with workers goroutines
// (at least one) until ctx ends. It returns nil once ctx has ended and every worker
// has stopped.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	c.log.Info("starting endpointslice controller", "workers", workers, "maxEndpointsPerSlice", c.maxPerSlice)
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("stopped endpointslice controller")
	return nil
}

// processNext syncs one queued Service; it returns false once the queue is shut
// down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	err := c.sync(ctx, key)
	switch {
	case err == nil:
		c.queue.Forget(key)
	case errors.Is(err, errStaleCache):
		// The cache has not caught up with our own writes yet. The slice event
		// that brings it up to date queues the Service; staleRecheck is only a
		// safety net, and being behind is no failure to back off from.
		c.log.Debug("endpointslice cache is stale, waiting", "service", key)
		c.queue.AddAfter(key, staleRecheck)
	default:
		c.log.Info("endpointslice sync failed, requeueing", "service", key, "err", err)
		c.event(key, err)
		c.queue.AddRateLimited(key)
	}
	return true
}

// event records a Warning on the Service behind key.
func (c *Controller) event(key string, err error) {
	if c.recorder == nil {
		return
	}
	ns, name, splitErr := cache.SplitMetaNamespaceKey(key)
	if splitErr != nil {
		return
	}
	svc, getErr := c.services.Services(ns).Get(name)
	if getErr != nil {
		return
	}
	c.recorder.Eventf(svc, corev1.EventTypeWarning, ReasonFailedToUpdate,
		"Error updating EndpointSlices for Service %s/%s: %v", ns, name, err)
}

// podNodeName indexes Pods by the Node they run on.
func podNodeName(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return nil, nil
	}
	return []string{pod.Spec.NodeName}, nil
}

// sliceServiceKey indexes this controller's slices by "namespace/service".
func sliceServiceKey(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	key, ok := serviceKeyOf(s)
	if !ok {
		return nil, nil
	}
	return []string{key}, nil
}

// serviceKeyOf returns "namespace/service" of a slice this controller manages.
func serviceKeyOf(s *discoveryv1.EndpointSlice) (string, bool) {
	if s.Labels[discoveryv1.LabelManagedBy] != ControllerName {
		return "", false
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return "", false
	}
	return s.Namespace + "/" + name, true
}

// slicesOf returns the slices this controller manages for a Service, whatever
// their owner. The objects belong to the informer cache: never modify them.
func (c *Controller) slicesOf(namespace, name string) ([]*discoveryv1.EndpointSlice, error) {
	if c.slicesByName {
		objs, err := c.sliceIndex.ByIndex(sliceServiceIndex, namespace+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("list endpointslices of %s/%s: %w", namespace, name, err)
		}
		out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
		for _, o := range objs {
			if s, ok := o.(*discoveryv1.EndpointSlice); ok {
				out = append(out, s)
			}
		}
		return out, nil
	}
	objs, err := c.sliceIndex.ByIndex(cache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("list endpointslices in %s: %w", namespace, err)
	}
	var out []*discoveryv1.EndpointSlice
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] == name &&
			s.Labels[discoveryv1.LabelManagedBy] == ControllerName {
			out = append(out, s)
		}
	}
	return out, nil
}
