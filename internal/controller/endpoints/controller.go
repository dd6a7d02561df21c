package endpoints

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

const (
	// ManagedByLabel marks Endpoints written by this controller (the same label and
	// value kube-controller-manager uses since v1.33). Only Endpoints carrying it are
	// ever deleted.
	ManagedByLabel = "endpoints.kubernetes.io/managed-by"
	// ManagedByValue is the value of [ManagedByLabel] on this controller's Endpoints.
	ManagedByValue = "endpoint-controller"

	// MaxAddresses is the most addresses one Endpoints object carries.
	MaxAddresses = 1000
	// truncatedValue is the over-capacity annotation's value on truncated objects.
	truncatedValue = "truncated"
	// leaderAnnotation marks leader-election Endpoints, which are never touched.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Options tunes a Controller. The zero value is usable.
type Options struct {
	// Log receives the controller's logs; nil discards them.
	Log *slog.Logger
	// Registerer receives the controller's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Recorder receives Warning events for failed writes; nil records none.
	Recorder record.EventRecorder
	// BatchPeriod delays syncs triggered by Pod changes so that bursts of changes
	// to one Service's Pods cost one write; zero syncs at once.
	BatchPeriod time.Duration
}

// Controller keeps one Endpoints object per selector-based Service. Create it with
// [New]; it is driven by [Controller.Run].
// Run is called once per Controller.
type Controller struct {
	client kubernetes.Interface
	opts   Options
	log    *slog.Logger

	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	synced    []cache.InformerSynced

	// queue holds Service keys ("namespace/name") to sync.
	queue workqueue.TypedRateLimitingInterface[string]
	// podQueue holds Pod changes still to be mapped to the Services they affect,
	// so that event handlers stay O(1).
	podQueue workqueue.TypedInterface[podChange]

	triggers *triggerTracker
	stale    *staleTracker
	metrics  *metrics
}

// podChange is a Pod event reduced to what decides which Services it affects:
// its namespace and its labels before and after (label sets in canonical text
// form, so the value is comparable and equal changes collapse in the queue).
type podChange struct {
	namespace string
	labels    string
	oldLabels string
}

// New builds a Controller on factory's Service, Pod and Endpoints informers and
// registers its event handlers. It starts nothing; the caller starts the factory
// and calls Run.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) *Controller {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	svcInf := factory.Core().V1().Services()
	podInf := factory.Core().V1().Pods()
	epInf := factory.Core().V1().Endpoints()
	c := &Controller{
		client:    client,
		opts:      opts,
		log:       log,
		services:  svcInf.Lister(),
		pods:      podInf.Lister(),
		endpoints: epInf.Lister(),
		synced:    []cache.InformerSynced{svcInf.Informer().HasSynced, podInf.Informer().HasSynced, epInf.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoints"}),
		podQueue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[podChange]{Name: "endpoints_pods"}),
		triggers: newTriggerTracker(),
		stale:    newStaleTracker(),
		metrics:  newMetrics(opts.Registerer),
	}
	_, _ = svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	})
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onPodAdd,
		UpdateFunc: c.onPodUpdate,
		DeleteFunc: c.onPodDelete,
	})
	_, _ = epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// A deleted Endpoints object may need to be written again.
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.stale.clear(key)
				c.queue.Add(key)
			}
		},
	})
	return c
}

// Run waits for the informer caches, then syncs Services with workers goroutines
// (at least one) until ctx ends. It also checks, once, every Endpoints object this
// controller manages, so that those of Services deleted while it was not running
// are removed. Run returns nil after ctx ends and its goroutines have stopped.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	defer c.podQueue.ShutDown()
	c.log.Info("starting endpoints controller")
	defer c.log.Info("stopped endpoints controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	c.enqueueManaged()

	var wg sync.WaitGroup
	wg.Go(func() {
		for c.processPodChange() {
		}
	})
	for range max(workers, 1) {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	c.podQueue.ShutDown()
	wg.Wait()
	return nil
}

// enqueueManaged queues every Endpoints object carrying this controller's label.
func (c *Controller) enqueueManaged() {
	eps, err := c.endpoints.List(labels.SelectorFromValidatedSet(labels.Set{ManagedByLabel: ManagedByValue}))
	if err != nil {
		c.log.Error("list endpoints", "err", err)
		return
	}
	for _, ep := range eps {
		c.queue.Add(ep.Namespace + "/" + ep.Name)
	}
}

func (c *Controller) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		c.log.Error("key of object", "err", err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) onPodAdd(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.podQueue.Add(podChange{namespace: pod.Namespace, labels: labels.Set(pod.Labels).String()})
}

func (c *Controller) onPodUpdate(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 || (old.ResourceVersion == pod.ResourceVersion && old.ResourceVersion != "") {
		return // a resync: Services are resynced by their own informer
	}
	labelsChanged := !reflect.DeepEqual(old.Labels, pod.Labels)
	if !labelsChanged && !podChanged(old, pod) {
		return
	}
	ch := podChange{namespace: pod.Namespace, labels: labels.Set(pod.Labels).String()}
	if labelsChanged {
		// A label change affects the Services selecting the Pod before and after.
		ch.oldLabels = labels.Set(old.Labels).String()
	}
	c.podQueue.Add(ch)
}

func (c *Controller) onPodDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	c.onPodAdd(obj)
}

// podChanged reports whether a Pod changed in a way that may change the addresses
// it contributes.
func podChanged(old, pod *corev1.Pod) bool {
	switch {
	case (old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil),
		podReady(old) != podReady(pod),
		old.Status.Phase != pod.Status.Phase,
		old.Status.PodIP != pod.Status.PodIP,
		!reflect.DeepEqual(old.Status.PodIPs, pod.Status.PodIPs),
		old.Spec.NodeName != pod.Spec.NodeName,
		old.Spec.Hostname != pod.Spec.Hostname,
		old.Spec.Subdomain != pod.Spec.Subdomain:
		return true
	}
	// The trigger-time annotation follows the Ready condition's transition time.
	oc, nc := readyCondition(old), readyCondition(pod)
	return oc != nil && nc != nil && !oc.LastTransitionTime.Equal(&nc.LastTransitionTime)
}

// processPodChange maps one Pod change to the Services whose selectors match the
// Pod's labels (before or after) and queues them.
func (c *Controller) processPodChange() bool {
	ch, quit := c.podQueue.Get()
	if quit {
		return false
	}
	defer c.podQueue.Done(ch)
	cur, err := labels.ConvertSelectorToLabelsMap(ch.labels)
	if err != nil {
		c.log.Error("parse pod labels", "labels", ch.labels, "err", err)
		return true
	}
	var old labels.Set
	if ch.oldLabels != "" {
		if old, err = labels.ConvertSelectorToLabelsMap(ch.oldLabels); err != nil {
			c.log.Error("parse pod labels", "labels", ch.oldLabels, "err", err)
			return true
		}
	}
	svcs, err := c.services.Services(ch.namespace).List(labels.Everything())
	if err != nil {
		c.log.Error("list services", "namespace", ch.namespace, "err", err)
		return true
	}
	for _, svc := range svcs {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromValidatedSet(svc.Spec.Selector)
		if sel.Matches(cur) || (old != nil && sel.Matches(old)) {
			c.queue.AddAfter(svc.Namespace+"/"+svc.Name, c.opts.BatchPeriod)
		}
	}
	return true
}

// processNext syncs one Service key; failures are retried with backoff.
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
			c.log.Warn("sync endpoints", "service", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}
