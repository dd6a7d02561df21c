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
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
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

// sync empties namespace name and records what blocks that in its status
// conditions; done is true once the namespace was finalized (or needs nothing).
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
	found := c.deleteContent(ctx, ns)
	c.writeConditions(ctx, ns, found)
	if err := found.err(); err != nil {
		return false, fmt.Errorf("empty namespace %s: %w", name, err)
	}
	if n := found.left(); n > 0 {
		c.log.Debug("namespace still has content", "namespace", name, "objects", n)
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

// writeConditions records found in the status conditions of ns, through the
// status subresource, when they change. A failure is logged, not returned: as
// in Kubernetes, the conditions explain a deletion but never hold it up.
func (c *Controller) writeConditions(ctx context.Context, ns *corev1.Namespace, found *content) {
	want := found.conditions(metav1.Now())
	cur := ns.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !setConditions(&cur.Status, want) {
			return nil
		}
		_, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := c.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		switch {
		case gerr != nil:
			return gerr
		case fresh.UID != ns.UID:
			return nil // another namespace of that name: not ours to describe
		}
		cur = fresh
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		c.log.Warn("update namespace conditions", "namespace", ns.Name, "err", err)
	}
}

// target is one namespaced resource to empty and the verbs discovery lists for it.
type target struct {
	gvr   schema.GroupVersionResource
	verbs []string
}

// deleteContent deletes everything in namespace ns, for every namespaced
// resource discovery lists with the delete verb, and returns what it found: the
// objects that remain (terminating gracefully, held by finalizers, or created
// meanwhile) and the errors, per step, as kube-controller-manager's namespace
// deleter does. An error for one resource does not stop the others.
func (c *Controller) deleteContent(ctx context.Context, ns *corev1.Namespace) *content {
	found := &content{remaining: map[schema.GroupVersionResource]int{}, finalizers: map[string]int{}}
	lists, err := c.resources()
	if err != nil {
		// Not fatal: discovery returns what it could reach.
		found.discoveryErr = err
	}
	var targets []target
	for _, list := range discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete"}}, lists) {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			// As in Kubernetes, one unparsable group version leaves all content for
			// the next pass.
			found.parseErr = err
			targets = nil
			break
		}
		for _, r := range list.APIResources {
			targets = append(targets, target{gvr: gv.WithResource(r.Name), verbs: r.Verbs})
		}
	}
	for _, t := range targets {
		n, finalizers, err := c.emptyResource(ctx, ns, t)
		if err != nil {
			found.deleteErrs = append(found.deleteErrs, err)
		}
		if n == 0 {
			continue
		}
		found.remaining[t.gvr] = n
		for f, k := range finalizers {
			found.finalizers[f] += k
		}
	}
	return found
}

// emptyResource deletes the objects of resource t in namespace ns (with
// deletecollection when served, else one by one) and lists what is left: n
// objects, with finalizers counting the objects that hold each finalizer.
// Objects left that neither hold a finalizer nor may still be terminating
// gracefully are an error.
func (c *Controller) emptyResource(ctx context.Context, ns *corev1.Namespace, t target) (n int, finalizers map[string]int, err error) {
	grace, err := c.graceEstimate(ctx, ns, t.gvr)
	if err != nil {
		return 0, nil, err
	}
	ri := c.dynamic.Resource(t.gvr).Namespace(ns.Name)
	collection := slices.Contains(t.verbs, "deletecollection")
	if collection {
		err := ri.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		switch {
		case unsupported(err):
			collection = false
		case err != nil:
			return 0, nil, err
		}
	}
	if !slices.Contains(t.verbs, "list") {
		return 0, nil, nil
	}
	if !collection {
		items, err := ri.List(ctx, metav1.ListOptions{})
		if unsupported(err) {
			return 0, nil, nil
		}
		if err != nil {
			return 0, nil, err
		}
		for _, it := range items.Items {
			if it.GetDeletionTimestamp() != nil {
				continue
			}
			if err := ri.Delete(ctx, it.GetName(), metav1.DeleteOptions{}); err != nil && !unsupported(err) {
				return 0, nil, err
			}
		}
	}
	items, err := ri.List(ctx, metav1.ListOptions{})
	if unsupported(err) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if len(items.Items) == 0 {
		return 0, nil, nil
	}
	finalizers = map[string]int{}
	for _, it := range items.Items {
		for _, f := range it.GetFinalizers() {
			finalizers[f]++
		}
	}
	if grace > 0 || len(finalizers) > 0 {
		return len(items.Items), finalizers, nil
	}
	// Kubernetes' wording (the resource prints as "/v1, Resource=pods").
	return len(items.Items), nil, fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns.Name, t.gvr)
}

// unsupported reports an error that means the resource does not serve the verb,
// which the deleter then does without (as Kubernetes does for both codes).
func unsupported(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)
}

// graceEstimate returns how many more seconds the pods of namespace ns may take
// to terminate gracefully, as kube-controller-manager estimates it: the longest
// terminationGracePeriodSeconds of the pods that have not finished, or 0 once
// that long has passed since the namespace's deletion. Other resources get 0.
func (c *Controller) graceEstimate(ctx context.Context, ns *corev1.Namespace, gvr schema.GroupVersionResource) (int64, error) {
	if gvr.GroupResource() != (schema.GroupResource{Resource: "pods"}) {
		return 0, nil
	}
	pods, err := c.client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	var longest int64
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > longest {
			longest = *g
		}
	}
	if time.Since(ns.DeletionTimestamp.Time) >= time.Duration(longest)*time.Second {
		return 0, nil
	}
	return longest, nil
}
