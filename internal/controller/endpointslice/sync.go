package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// errStaleCache is returned by a sync that found the informer cache behind the
// controller's own writes; the Service is retried shortly.
var errStaleCache = errors.New("endpointslice cache is behind the controller's own writes")

// sync brings the slices of the Service named by key ("namespace/name") to the
// desired state. It is idempotent and reads only the informer caches.
func (c *Controller) sync(ctx context.Context, key string) (err error) {
	start := time.Now()
	defer func() {
		c.metrics.duration.Observe(time.Since(start).Seconds())
		switch {
		case err == nil:
			c.metrics.syncs.WithLabelValues(resultSuccess).Inc()
		case errors.Is(err, errStaleCache):
			c.metrics.syncs.WithLabelValues(resultStale).Inc()
		default:
			c.metrics.syncs.WithLabelValues(resultError).Inc()
		}
	}()
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("sync %q: %w", key, err)
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The Service's slices carry its ownerReference: the garbage collector
		// removes them.
		c.expect.forget(key)
		c.triggers.forget(key)
		c.warnings.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	cached, err := c.slicesOf(ns, name)
	if err != nil {
		return err
	}
	if c.expect.stale(key, cached) {
		// Ask for the next slice event, then look again: an event that came
		// between the read above and the mark would otherwise be missed. The
		// informer updates its cache before it hands out the event, so either
		// the second read is fresh or the event is still to come.
		c.expect.wait(key)
		if cached, err = c.slicesOf(ns, name); err != nil {
			return err
		}
		if c.expect.stale(key, cached) {
			return errStaleCache
		}
		c.expect.resume(key)
	}

	trigger := c.triggers.take(key)
	var pl plan
	missingNodes := 0
	if selectsPods(svc) {
		pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
		if err != nil {
			c.triggers.restore(key, trigger)
			return fmt.Errorf("list pods of service %s: %w", key, err)
		}
		c.warn(key, svc, pods)
		desired, err := buildDesired(svc, pods, &nodeZones{get: c.nodes.Get, cache: map[string]nodeInfo{}})
		if err != nil {
			c.triggers.restore(key, trigger)
			return fmt.Errorf("build endpoints of service %s: %w", key, err)
		}
		missingNodes = desired.missingNodes
		pl = newPlanner(svc, c.maxPerSlice, trigger).plan(desired, cached)
	} else {
		// No selector, or ExternalName: nothing of ours should exist, and
		// nothing to warn about.
		pl.deletes = cached
		c.warnings.forget(key)
	}
	if err := c.apply(ctx, key, pl); err != nil {
		c.triggers.restore(key, trigger)
		return err
	}
	if pl.writes() > 0 {
		c.log.Debug("endpointslices synced", "service", key, "created", len(pl.creates),
			"updated", len(pl.updates), "deleted", len(pl.deletes), "endpointChanges", pl.endpointChanges)
	}
	if missingNodes > 0 {
		// Written without them; retried until their Nodes appear.
		return fmt.Errorf("service %s: %d pods skipped because their node is unknown", key, missingNodes)
	}
	return nil
}

// apply makes a plan's writes for the Service named by key, creates first and
// deletes last so that consumers never see fewer endpoints than necessary.
func (c *Controller) apply(ctx context.Context, key string, pl plan) error {
	c.metrics.endpoints.Add(float64(pl.endpointChanges))
	for _, s := range pl.creates {
		created, err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				// Creates keep failing until the namespace is gone; nothing to retry.
				return nil
			}
			return fmt.Errorf("create endpointslice for service %s: %w", key, err)
		}
		c.expect.wrote(key, created)
		c.metrics.changes.WithLabelValues("create").Inc()
	}
	for _, s := range pl.updates {
		updated, err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update endpointslice %s/%s of service %s: %w", s.Namespace, s.Name, key, err)
		}
		c.expect.wrote(key, updated)
		c.metrics.changes.WithLabelValues("update").Inc()
	}
	for _, s := range pl.deletes {
		if err := c.deleteSlice(ctx, key, s); err != nil {
			return err
		}
	}
	return nil
}

// deleteSlice deletes one cached slice, on the condition that it is still the
// same object.
func (c *Controller) deleteSlice(ctx context.Context, key string, s *discoveryv1.EndpointSlice) error {
	var opts metav1.DeleteOptions
	if s.UID != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &s.UID}
	}
	err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, opts)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("delete endpointslice %s/%s of service %s: %w", s.Namespace, s.Name, key, err)
	}
	c.expect.deleted(key, s.Name)
	c.metrics.changes.WithLabelValues("delete").Inc()
	return nil
}
