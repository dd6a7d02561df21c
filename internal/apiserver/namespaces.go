package apiserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/svcnet/svcnet/internal/storage"
)

// namespaceCache knows, from a watch, which namespaces exist and which are
// terminating, so creates need no extra etcd read. A namespace it has not seen yet
// is read from etcd (it may have been created a moment ago). A namespace deleted
// through this server is marked terminating at once, before the watch brings
// the change, so that a create right after the delete is refused (as
// kube-apiserver's lifecycle admission forces a live lookup after a delete).
type namespaceCache struct {
	s      *Server
	mu     sync.RWMutex
	phases map[string]nsState
	synced bool
}

// nsState is a namespace's phase as of etcd revision rev.
type nsState struct {
	phase corev1.NamespacePhase
	rev   int64
}

func newNamespaceCache(s *Server) *namespaceCache {
	return &namespaceCache{s: s, phases: map[string]nsState{}}
}

var nsGR = schema.GroupResource{Resource: "namespaces"}

// admittedName is how kube-apiserver's admission names an object not created
// yet: its name, else its generateName, else "Unknown".
func admittedName(obj runtime.Object) string {
	acc, err := meta.Accessor(obj)
	switch {
	case err != nil:
		return "Unknown"
	case acc.GetName() != "":
		return acc.GetName()
	case acc.GetGenerateName() != "":
		return acc.GetGenerateName()
	}
	return "Unknown"
}

// admit refuses the creation of object (of resource gr) in namespace name when
// that namespace is missing or being terminated, with kube-apiserver's
// NamespaceLifecycle errors.
func (c *namespaceCache) admit(ctx context.Context, name string, gr schema.GroupResource, object string) error {
	c.mu.RLock()
	st, ok := c.phases[name]
	c.mu.RUnlock()
	phase := st.phase
	if !ok {
		kv, err := c.s.store.Get(ctx, "/registry/namespaces/"+name)
		if errors.Is(err, storage.ErrNotFound) {
			return apierrors.NewNotFound(nsGR, name)
		}
		if err != nil {
			return err
		}
		obj, err := c.s.codecs.decodeStorage(kv.Value, func() runtime.Object { return &corev1.Namespace{} })
		if err != nil {
			return err
		}
		phase = obj.(*corev1.Namespace).Status.Phase
		if obj.(*corev1.Namespace).DeletionTimestamp != nil {
			phase = corev1.NamespaceTerminating
		}
	}
	if phase == corev1.NamespaceTerminating {
		err := apierrors.NewForbidden(gr, object, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", name))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", name),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}

// set records ns as of revision rev.
func (c *namespaceCache) set(ns *corev1.Namespace, deleted bool, rev int64) {
	c.put(ns.Name, nsState{phase: namespacePhase(ns), rev: rev}, deleted)
}

// deletedHere records a delete of a namespace made through this server: as
// terminating (also when it is already gone: the watch's Deleted event, of a
// later revision, removes it).
func (c *namespaceCache) deletedHere(obj runtime.Object) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	if rev, err := strconv.ParseInt(ns.ResourceVersion, 10, 64); err == nil {
		c.put(ns.Name, nsState{phase: corev1.NamespaceTerminating, rev: rev}, false)
	}
}

// put records st for namespace name (or forgets it when gone) unless the cache
// holds a newer revision: the write path and the watch may tell in either
// order.
func (c *namespaceCache) put(name string, st nsState, gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.phases[name]; ok && cur.rev > st.rev {
		return
	}
	if gone {
		delete(c.phases, name)
		return
	}
	c.phases[name] = st
}

func namespacePhase(ns *corev1.Namespace) corev1.NamespacePhase {
	if ns.DeletionTimestamp != nil {
		return corev1.NamespaceTerminating
	}
	return ns.Status.Phase
}

// run lists and watches namespaces until ctx ends, relisting after any error.
func (c *namespaceCache) run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := c.sync(ctx)
		if ctx.Err() != nil {
			break
		}
		c.s.log.Debug("namespace cache relisting", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (c *namespaceCache) sync(ctx context.Context) error {
	newNS := func() runtime.Object { return &corev1.Namespace{} }
	res, err := c.s.store.List(ctx, "/registry/namespaces/", storage.ListOptions{})
	if err != nil {
		return err
	}
	fresh := map[string]nsState{}
	for _, kv := range res.KVs {
		obj, err := c.s.codecs.decodeStorage(kv.Value, newNS)
		if err != nil {
			continue
		}
		ns := obj.(*corev1.Namespace)
		fresh[ns.Name] = nsState{phase: namespacePhase(ns), rev: kv.ModRevision}
	}
	c.mu.Lock()
	c.phases, c.synced = fresh, true
	c.mu.Unlock()
	events, errc := c.s.store.Watch(ctx, "/registry/namespaces/", res.Revision)
	for ev := range events {
		if ev.Type == storage.Progress {
			continue
		}
		obj, err := c.s.codecs.decodeStorage(ev.Value, newNS)
		if err != nil {
			continue
		}
		c.set(obj.(*corev1.Namespace), ev.Type == storage.Deleted, ev.Revision)
	}
	return <-errc
}

// namespaceSpecFinalizers counts the spec.finalizers of a Namespace (0 for others).
func namespaceSpecFinalizers(obj runtime.Object) int {
	if ns, ok := obj.(*corev1.Namespace); ok {
		return len(ns.Spec.Finalizers)
	}
	return 0
}
