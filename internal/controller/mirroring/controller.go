package mirroring

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/svcnet/svcnet/internal/controller/endpoints"
)

const (
	// ControllerName is the endpointslice.kubernetes.io/managed-by value of the
	// slices this controller writes; it reads and deletes only slices carrying it.
	ControllerName = "endpointslicemirroring-controller.k8s.io"

	// MaxEndpointsPerSubset is the default and largest number of addresses
	// mirrored from one Endpoints subset.
	MaxEndpointsPerSubset = 1000

	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Options tunes a Controller. The zero value is usable.
type Options struct {
	// Log receives the controller's logs; nil discards them.
	Log *slog.Logger
	// Registerer receives the controller's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Recorder receives Warning events about addresses that were not mirrored;
	// nil records none.
	Recorder record.EventRecorder
	// MaxEndpointsPerSubset caps the addresses mirrored per Endpoints subset;
	// zero or more than [MaxEndpointsPerSubset] means [MaxEndpointsPerSubset].
	MaxEndpointsPerSubset int
}

// Controller mirrors Endpoints of selectorless Services into EndpointSlices.
// Create it with [New]; it is driven by [Controller.Run].
// Run is called once per Controller.
type Controller struct {
	client kubernetes.Interface
	opts   Options
	log    *slog.Logger

	endpoints corelisters.EndpointsLister
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	synced    []cache.InformerSynced

	// queue holds Endpoints keys ("namespace/name", also the Service's key).
	queue   workqueue.TypedRateLimitingInterface[string]
	expect  *expectations
	metrics *metrics
}

// New builds a Controller on factory's Endpoints, Service and EndpointSlice
// informers and registers its event handlers. It starts nothing; the caller starts
// the factory and calls Run.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) *Controller {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxEndpointsPerSubset <= 0 || opts.MaxEndpointsPerSubset > MaxEndpointsPerSubset {
		opts.MaxEndpointsPerSubset = MaxEndpointsPerSubset
	}
	epInf := factory.Core().V1().Endpoints()
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	c := &Controller{
		client:    client,
		opts:      opts,
		log:       log,
		endpoints: epInf.Lister(),
		services:  svcInf.Lister(),
		slices:    sliceInf.Lister(),
		synced:    []cache.InformerSynced{epInf.Informer().HasSynced, svcInf.Informer().HasSynced, sliceInf.Informer().HasSynced},
		// A slower first retry than the default (1s, not 5ms): a failed sync may
		// have written several slices.
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedMaxOfRateLimiter(
				workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 100*time.Second),
				workqueue.DefaultTypedControllerRateLimiter[string](),
			),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "mirroring"}),
		expect:  newExpectations(),
		metrics: newMetrics(opts.Registerer),
	}

	_, _ = epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ep, ok := obj.(*corev1.Endpoints); ok && mirrorable(ep) {
				c.enqueue(obj)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Endpoints)
			ep, ok2 := obj.(*corev1.Endpoints)
			if ok1 && ok2 && (mirrorable(old) || mirrorable(ep)) {
				c.enqueue(obj)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if ep, ok := obj.(*corev1.Endpoints); ok && mirrorable(ep) {
				c.enqueue(obj)
			}
		},
	})
	_, _ = svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if svc, ok := obj.(*corev1.Service); ok && len(svc.Spec.Selector) == 0 {
				c.enqueue(obj)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Service)
			svc, ok2 := obj.(*corev1.Service)
			if ok1 && ok2 && ((len(old.Spec.Selector) == 0) != (len(svc.Spec.Selector) == 0) || old.UID != svc.UID) {
				c.enqueue(obj)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if svc, ok := obj.(*corev1.Service); ok && len(svc.Spec.Selector) == 0 {
				c.enqueue(obj)
			}
		},
	})
	_, _ = sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onSlice,
		UpdateFunc: func(oldObj, obj any) {
			c.onSlice(oldObj)
			c.onSlice(obj)
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if s, ok := obj.(*discoveryv1.EndpointSlice); ok && managed(s) {
				key := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
				c.expect.seenDeleted(key, s.Name)
				c.queue.Add(key)
			}
		},
	})
	return c
}

// Run waits for the informer caches, then mirrors with workers goroutines (at
// least one) until ctx ends. It returns nil after ctx ends and its goroutines have
// stopped.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	c.log.Info("starting mirroring controller")
	defer c.log.Info("stopped mirroring controller")
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
	return nil
}

// mirrorable reports whether ep may be mirrored at all (the Service is checked
// in the sync).
func mirrorable(ep *corev1.Endpoints) bool {
	if ep.Labels[discoveryv1.LabelSkipMirror] == "true" {
		return false
	}
	if _, ok := ep.Annotations[leaderAnnotation]; ok {
		return false
	}
	// Endpoints derived from Pods: the endpointslice controller covers them.
	return ep.Labels[endpoints.ManagedByLabel] != endpoints.ManagedByValue
}

// managed reports whether this controller manages slice s.
func managed(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == ControllerName && s.Labels[discoveryv1.LabelServiceName] != ""
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		c.log.Error("key of object", "err", err)
		return
	}
	c.queue.Add(key)
}

// onSlice queues the Endpoints a managed slice belongs to, so that slices changed
// or removed by others are repaired.
func (c *Controller) onSlice(obj any) {
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok && managed(s) {
		c.queue.Add(s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName])
	}
}

// processNext syncs one key; failures are retried with backoff.
func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	start := time.Now()
	err := c.sync(ctx, key)
	c.metrics.syncs.Inc()
	c.metrics.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("mirror endpoints", "key", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}
