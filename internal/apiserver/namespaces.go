package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/svcnet/svcnet/internal/storage"
)

// namespaceCache knows, from a watch, which namespaces exist and which are
// terminating, so creates need no extra etcd read. A namespace it has not seen yet
// is read from etcd (it may have been created a moment ago).
type namespaceCache struct {
	s      *Server
	mu     sync.RWMutex
	phases map[string]corev1.NamespacePhase
	synced bool
}

func newNamespaceCache(s *Server) *namespaceCache {
	return &namespaceCache{s: s, phases: map[string]corev1.NamespacePhase{}}
}

var nsGR = schema.GroupResource{Resource: "namespaces"}

func (c *namespaceCache) admit(ctx context.Context, name string) error {
	c.mu.RLock()
	phase, ok := c.phases[name]
	c.mu.RUnlock()
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
		err := apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("unable to create new content in namespace %s because it is being terminated", name))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", name),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}

func (c *namespaceCache) set(ns *corev1.Namespace, deleted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if deleted {
		delete(c.phases, ns.Name)
		return
	}
	phase := ns.Status.Phase
	if ns.DeletionTimestamp != nil {
		phase = corev1.NamespaceTerminating
	}
	c.phases[ns.Name] = phase
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
	fresh := map[string]corev1.NamespacePhase{}
	for _, kv := range res.KVs {
		obj, err := c.s.codecs.decodeStorage(kv.Value, newNS)
		if err != nil {
			continue
		}
		ns := obj.(*corev1.Namespace)
		fresh[ns.Name] = ns.Status.Phase
		if ns.DeletionTimestamp != nil {
			fresh[ns.Name] = corev1.NamespaceTerminating
		}
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
		c.set(obj.(*corev1.Namespace), ev.Type == storage.Deleted)
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
