package podgc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// nodeNameIndex indexes Pods by spec.nodeName.
const nodeNameIndex = "spec.nodeName"

// DefaultQuarantine is how long a node name missing from the informer cache is
// given to show up before the API is asked whether it exists, as
// kube-controller-manager's PodGC quarantineTime.
const DefaultQuarantine = 40 * time.Second

// Options tunes a Controller. The zero value is usable.
type Options struct {
	// Log receives the controller's logs; nil discards them.
	Log *slog.Logger
	// Registerer receives the controller's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Quarantine is how long the Pods of a node missing from the cache wait
	// before the node is looked up in the API; zero or less means
	// DefaultQuarantine.
	Quarantine time.Duration
}

// Controller force-deletes terminating Pods whose grace period has ended or whose
// node is gone, and Pods bound to a node that does not exist. Create it with
// [New]; it is driven by [Controller.Run]. Run is called once per Controller.
type Controller struct {
	client     kubernetes.Interface
	log        *slog.Logger
	quarantine time.Duration

	pods   corelisters.PodLister
	podIdx cache.Indexer
	nodes  corelisters.NodeLister
	// nodesSynced tells whether the Node cache is complete: before, every
	// node would look missing.
	nodesSynced cache.InformerSynced
	synced      []cache.InformerSynced
	// queue holds keys of terminating Pods.
	queue workqueue.TypedRateLimitingInterface[string]
	// orphans holds names of nodes missing from the cache that have Pods: each
	// waits out the quarantine, then is checked by [Controller.syncNode].
	orphans workqueue.TypedRateLimitingInterface[string]
	metrics *metrics
}

// New builds a Controller on factory's Pod and Node informers and registers its
// event handlers and a node-name index on the Pod informer. It starts nothing; the
// caller starts the factory and calls Run.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) *Controller {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	quarantine := opts.Quarantine
	if quarantine <= 0 {
		quarantine = DefaultQuarantine
	}
	podInf := factory.Core().V1().Pods()
	nodeInf := factory.Core().V1().Nodes()
	c := &Controller{
		client:      client,
		log:         log,
		quarantine:  quarantine,
		pods:        podInf.Lister(),
		podIdx:      podInf.Informer().GetIndexer(),
		nodes:       nodeInf.Lister(),
		nodesSynced: nodeInf.Informer().HasSynced,
		synced:      []cache.InformerSynced{podInf.Informer().HasSynced, nodeInf.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "podgc"}),
		orphans: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "podgc_orphaned_pods_nodes"}),
		metrics: newMetrics(opts.Registerer),
	}
	if err := podInf.Informer().AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		log.Error("add pod node index", "err", err)
	}
	enqueuePod := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if p.DeletionTimestamp != nil {
			c.queue.Add(p.Namespace + "/" + p.Name)
		}
		c.noticePod(p)
	}
	_, _ = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePod,
		UpdateFunc: func(_, obj any) { enqueuePod(obj) },
	})
	_, _ = nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		// The Pods of a vanished node are orphans now: the terminating ones go
		// at once, the others after the quarantine (the cache no longer has the
		// node, so enqueuePod puts it in quarantine).
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			node, ok := obj.(*corev1.Node)
			if !ok {
				return
			}
			pods, err := c.podIdx.ByIndex(nodeNameIndex, node.Name)
			if err != nil {
				log.Error("pods of node", "node", node.Name, "err", err)
				return
			}
			for _, p := range pods {
				enqueuePod(p)
			}
		},
	})
	return c
}

// Run waits for the informer caches, then collects terminating Pods with workers
// goroutines (at least one) and orphaned Pods with one more, until ctx ends. It
// returns nil after ctx ends and its goroutines have stopped.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	defer c.orphans.ShutDown()
	c.log.Info("starting pod garbage collector", "quarantine", c.quarantine)
	defer c.log.Info("stopped pod garbage collector")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	// Pods seen before the Node cache was complete were not checked.
	for _, obj := range c.podIdx.List() {
		if p, ok := obj.(*corev1.Pod); ok {
			c.noticePod(p)
		}
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	wg.Go(func() {
		for c.processNextNode(ctx) {
		}
	})
	<-ctx.Done()
	c.queue.ShutDown()
	c.orphans.ShutDown()
	wg.Wait()
	return nil
}

// processNext handles one Pod key: failures are retried with backoff, Pods whose
// deadline lies ahead come back when it is reached.
func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	wait, err := c.sync(ctx, key)
	c.metrics.syncs.Inc()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("collect pod", "pod", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	if wait > 0 {
		c.queue.AddAfter(key, wait)
	}
	return true
}

// sync force-deletes the Pod named by key if its time has come, or returns how
// long to wait until it does.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, fmt.Errorf("split key %q: %w", key, err)
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("get pod %s: %w", key, err)
	}
	if pod.DeletionTimestamp == nil || len(pod.Finalizers) > 0 {
		return 0, nil
	}
	if pod.Spec.NodeName == "" {
		return 0, c.forceDelete(ctx, pod, reasonUnscheduled)
	}
	gone, err := c.nodeGone(ctx, pod.Spec.NodeName)
	if err != nil {
		return 0, err
	}
	if gone {
		return 0, c.collectOrphan(ctx, pod)
	}
	if wait := time.Until(pod.DeletionTimestamp.Time); wait > 0 {
		return wait, nil
	}
	return 0, c.forceDelete(ctx, pod, reasonExpired)
}

// nodeGone reports whether the named Node does not exist. The cache may lag behind
// a Node just created, so its answer "absent" is confirmed with the API.
func (c *Controller) nodeGone(ctx context.Context, name string) (bool, error) {
	_, err := c.nodes.Get(name)
	if err == nil {
		return false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("get node %s from cache: %w", name, err)
	}
	_, err = c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get node %s: %w", name, err)
	}
	return false, nil
}

// forceDelete deletes pod with grace period 0, provided it is still the same Pod.
func (c *Controller) forceDelete(ctx context.Context, pod *corev1.Pod, reason string) error {
	zero := int64(0)
	uid := pod.UID
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // already gone, or replaced by a new Pod of the same name
	}
	if err != nil {
		c.metrics.errors.WithLabelValues(reason).Inc()
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.metrics.deletions.WithLabelValues(reason).Inc()
	c.log.Info("deleted pod", "namespace", pod.Namespace, "pod", pod.Name, "node", pod.Spec.NodeName, "reason", reason)
	return nil
}
