package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// finalizer is the spec finalizer this controller owns.
const finalizer = corev1.FinalizerKubernetes

// Controller empties and finalizes terminating namespaces.
type Controller struct {
	client  kubernetes.Interface
	dynamic dynamic.Interface
	// resources lists the namespaced resources to empty (discovery's preferred
	// versions); a seam for tests, whose fake discovery has no preferred versions.
	resources func() ([]*metav1.APIResourceList, error)
	log       *slog.Logger
	queue     workqueue.TypedRateLimitingInterface[string]
	informers informers.SharedInformerFactory
	lister    func(name string) (*corev1.Namespace, error)
	synced    cache.InformerSynced
	// Requeue is how soon a namespace that still has content is looked at again.
	Requeue time.Duration
}

// New builds a Controller; Run starts it.
func New(client kubernetes.Interface, dyn dynamic.Interface, log *slog.Logger) *Controller {
	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Core().V1().Namespaces()
	c := &Controller{
		client:    client,
		dynamic:   dyn,
		resources: client.Discovery().ServerPreferredNamespacedResources,
		log:       log,
		queue:     workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
		informers: f,
		lister:    inf.Lister().Get,
		synced:    inf.Informer().HasSynced,
		Requeue:   time.Second,
	}
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.queue.Add(ns.Name)
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return c
}

// Run processes terminating namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.informers.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return nil
	}
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for {
		name, quit := c.queue.Get()
		if quit {
			return nil
		}
		done, err := c.sync(ctx, name)
		switch {
		case err != nil:
			c.log.Warn("namespace deletion", "namespace", name, "err", err)
			c.queue.AddRateLimited(name)
		case !done:
			c.queue.Forget(name)
			c.queue.AddAfter(name, c.Requeue)
		default:
			c.queue.Forget(name)
		}
		c.queue.Done(name)
	}
}

// sync deletes the namespace's content; done is true once the namespace was
// finalized (or needs nothing).
func (c *Controller) sync(ctx context.Context, name string) (done bool, err error) {
	ns, err := c.lister(name)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, finalizer) {
		return true, nil
	}
	remaining, err := c.deleteContent(ctx, name)
	if err != nil {
		return false, err
	}
	if remaining > 0 {
		c.log.Debug("namespace still has content", "namespace", name, "objects", remaining)
		return false, nil
	}
	fresh, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	fresh.Spec.Finalizers = slices.DeleteFunc(fresh.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == finalizer })
	if _, err := c.client.CoreV1().Namespaces().Finalize(ctx, fresh, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	c.log.Info("namespace deleted", "namespace", name)
	return true, nil
}

// deleteContent deletes everything in namespace ns and returns how many objects
// remain (still terminating gracefully, or created meanwhile).
func (c *Controller) deleteContent(ctx context.Context, ns string) (int, error) {
	lists, err := c.resources()
	if err != nil && len(lists) == 0 {
		return 0, fmt.Errorf("discover namespaced resources: %w", err)
	}
	remaining := 0
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			ri := c.dynamic.Resource(gv.WithResource(r.Name)).Namespace(ns)
			if slices.Contains(r.Verbs, "deletecollection") {
				if err := ri.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return 0, fmt.Errorf("delete %s in %s: %w", r.Name, ns, err)
				}
			}
			items, err := ri.List(ctx, metav1.ListOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				return 0, fmt.Errorf("list %s in %s: %w", r.Name, ns, err)
			}
			for _, it := range items.Items {
				if it.GetDeletionTimestamp() == nil {
					if err := ri.Delete(ctx, it.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
						return 0, fmt.Errorf("delete %s %s/%s: %w", r.Name, ns, it.GetName(), err)
					}
				}
			}
			remaining += len(items.Items)
		}
	}
	return remaining, nil
}
