package garbagecollector

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// ownerUIDIndex indexes dependents by the UIDs of their owners.
const ownerUIDIndex = "ownerUID"

// Options tunes a Collector.
type Options struct {
	Log *slog.Logger
	// Registerer receives the collector's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Dependents are the resources whose objects may be collected.
	Dependents []schema.GroupVersionResource
	// Owners are further resources whose deletions make their dependents be
	// checked at once (dependents are owners too, implicitly).
	Owners []schema.GroupVersionResource
	// Mapper resolves an owner reference's kind to its resource.
	Mapper meta.RESTMapper
}

// item is one dependent to check.
type item struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

// Collector deletes dependents of vanished owners.
type Collector struct {
	client    metadata.Interface
	opts      Options
	queue     workqueue.TypedRateLimitingInterface[item]
	informers []cache.SharedIndexInformer
	// ownerSynced reports the sync of the owner-only informers.
	ownerSynced []cache.InformerSynced
	deleted     prometheus.Counter
}

// New builds a Collector over the metadata informers of factory; the caller starts
// the factory.
func New(client metadata.Interface, factory metadatainformer.SharedInformerFactory, opts Options) *Collector {
	c := &Collector{
		client: client,
		opts:   opts,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[item](),
			workqueue.TypedRateLimitingQueueConfig[item]{Name: "garbagecollector"}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_garbagecollector_deleted_total",
			Help: "Objects deleted because their owners are gone.",
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(c.deleted)
	}
	for _, gvr := range opts.Dependents {
		inf := factory.ForResource(gvr).Informer()
		_ = inf.AddIndexers(cache.Indexers{ownerUIDIndex: func(obj any) ([]string, error) {
			acc, err := meta.Accessor(obj)
			if err != nil {
				return nil, nil
			}
			var uids []string
			for _, r := range acc.GetOwnerReferences() {
				uids = append(uids, string(r.UID))
			}
			return uids, nil
		}})
		enqueue := func(obj any) {
			if acc, err := meta.Accessor(obj); err == nil && len(acc.GetOwnerReferences()) > 0 {
				c.queue.Add(item{gvr: gvr, namespace: acc.GetNamespace(), name: acc.GetName()})
			}
		}
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
			// A deleted object may have owned others: check its dependents.
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if acc, err := meta.Accessor(obj); err == nil {
					c.enqueueDependents(acc.GetUID())
				}
			},
		})
		c.informers = append(c.informers, inf)
	}
	for _, gvr := range opts.Owners {
		inf := factory.ForResource(gvr).Informer()
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if acc, err := meta.Accessor(obj); err == nil {
					c.enqueueDependents(acc.GetUID())
				}
			},
		})
		c.ownerSynced = append(c.ownerSynced, inf.HasSynced)
	}
	return c
}

func (c *Collector) enqueueDependents(uid types.UID) {
	for i, inf := range c.informers {
		objs, _ := inf.GetIndexer().ByIndex(ownerUIDIndex, string(uid))
		for _, obj := range objs {
			if acc, err := meta.Accessor(obj); err == nil {
				c.queue.Add(item{gvr: c.opts.Dependents[i], namespace: acc.GetNamespace(), name: acc.GetName()})
			}
		}
	}
}

// Run collects until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	synced := append([]cache.InformerSynced(nil), c.ownerSynced...)
	for _, inf := range c.informers {
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for {
		it, quit := c.queue.Get()
		if quit {
			return nil
		}
		if err := c.sync(ctx, it); err != nil {
			c.opts.Log.Warn("garbage collection", "resource", it.gvr.Resource, "namespace", it.namespace, "name", it.name, "err", err)
			c.queue.AddRateLimited(it)
		} else {
			c.queue.Forget(it)
		}
		c.queue.Done(it)
	}
}

// sync deletes one dependent if none of its owners exists any more.
func (c *Collector) sync(ctx context.Context, it item) error {
	obj, err := c.client.Resource(it.gvr).Namespace(it.namespace).Get(ctx, it.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	refs := obj.GetOwnerReferences()
	if len(refs) == 0 || obj.GetDeletionTimestamp() != nil {
		return nil
	}
	for _, ref := range refs {
		alive, err := c.ownerExists(ctx, it.namespace, ref)
		if err != nil {
			return err
		}
		if alive {
			return nil
		}
	}
	uid := obj.GetUID()
	bg := metav1.DeletePropagationBackground
	err = c.client.Resource(it.gvr).Namespace(it.namespace).Delete(ctx, it.name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid},
		PropagationPolicy: &bg,
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s %s/%s: %w", it.gvr.Resource, it.namespace, it.name, err)
	}
	if err == nil {
		c.deleted.Inc()
		c.opts.Log.Info("deleted object whose owners are gone", "resource", it.gvr.Resource, "namespace", it.namespace, "name", it.name)
	}
	return nil
}

// ownerExists reads the owner live (caches may lag behind a recreate) and compares UIDs.
func (c *Collector) ownerExists(ctx context.Context, ns string, ref metav1.OwnerReference) (bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return true, nil // unparsable: never delete on doubt
	}
	mapping, err := c.opts.Mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return true, nil
		}
		return false, err
	}
	ri := c.client.Resource(mapping.Resource)
	var owner *metav1.PartialObjectMetadata
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		owner, err = ri.Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	} else {
		owner, err = ri.Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return owner.UID == ref.UID, nil
}

// resyncPeriod is how often informers replay their caches, catching owners deleted
// while a watch was broken.
const resyncPeriod = 10 * time.Minute

// NewFactory returns the metadata informer factory the collector expects.
func NewFactory(client metadata.Interface) metadatainformer.SharedInformerFactory {
	return metadatainformer.NewSharedInformerFactory(client, resyncPeriod)
}
