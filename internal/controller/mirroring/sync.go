package mirroring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// errStale asks for a retry: the cache has not yet caught up with our writes.
var errStale = errors.New("endpointslice cache is older than the last writes")

// sync brings the mirrored slices of one Endpoints key to their desired state,
// writing only what differs.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("split key %q: %w", key, err)
	}
	existing, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromValidatedSet(labels.Set{
		discoveryv1.LabelServiceName: name,
		discoveryv1.LabelManagedBy:   ControllerName,
	}))
	if err != nil {
		return fmt.Errorf("list endpointslices of %s: %w", key, err)
	}
	if !c.expect.satisfied(key, existing) {
		return errStale
	}

	ep, err := c.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return c.deleteSlices(ctx, key, existing)
	} else if err != nil {
		return fmt.Errorf("get endpoints %s: %w", key, err)
	}
	if !mirrorable(ep) {
		return c.deleteSlices(ctx, key, existing)
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return c.deleteSlices(ctx, key, existing)
	} else if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	if len(svc.Spec.Selector) > 0 {
		return c.deleteSlices(ctx, key, existing)
	}

	d := desiredSlices(ep, c.opts.MaxEndpointsPerSubset)
	c.reportSkipped(ep, d)
	plan := c.plan(ep, svc, d, existing)
	return c.apply(ctx, key, ep, plan)
}

// plan lists the writes that turn existing into the desired slices.
type plan struct {
	create, update, delete []*discoveryv1.EndpointSlice
}

func (c *Controller) plan(ep *corev1.Endpoints, svc *corev1.Service, d desired, existing []*discoveryv1.EndpointSlice) plan {
	byKey := map[sliceKey][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		k := sliceKey{family: s.AddressType, ports: portsKey(s.Ports)}
		byKey[k] = append(byKey[k], s)
	}
	for _, ss := range byKey {
		slices.SortFunc(ss, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	}
	wantLabels, wantAnnotations, wantOwners := sliceLabels(ep), sliceAnnotations(ep), ownerRefs(svc)

	var p plan
	keys := make([]sliceKey, 0, len(d.groups))
	for k := range d.groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sliceKey) int {
		return strings.Compare(string(a.family)+" "+a.ports, string(b.family)+" "+b.ports)
	})
	for _, k := range keys {
		g := d.groups[k]
		have := byKey[k]
		delete(byKey, k)
		if len(g.endpoints) == 0 {
			p.delete = append(p.delete, have...)
			continue
		}
		slices.SortFunc(g.endpoints, compareEndpoints)
		if len(have) == 0 {
			p.create = append(p.create, &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{
					Namespace:       ep.Namespace,
					GenerateName:    generateNamePrefix(ep.Name),
					Labels:          wantLabels,
					Annotations:     wantAnnotations,
					OwnerReferences: wantOwners,
				},
				AddressType: k.family,
				Ports:       g.ports,
				Endpoints:   g.endpoints,
			})
			continue
		}
		// One slice per group: keep the first, drop duplicates.
		p.delete = append(p.delete, have[1:]...)
		cur := have[0]
		if sameEndpoints(cur.Endpoints, g.endpoints) &&
			equality.Semantic.DeepEqual(cur.Labels, wantLabels) &&
			equality.Semantic.DeepEqual(cur.Annotations, wantAnnotations) &&
			equality.Semantic.DeepEqual(cur.OwnerReferences, wantOwners) {
			continue
		}
		p.update = append(p.update, fill(cur, wantLabels, wantAnnotations, wantOwners, g))
	}
	// Port sets no longer wanted.
	for _, ss := range byKey {
		p.delete = append(p.delete, ss...)
	}
	slices.SortFunc(p.delete, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })

	// Reuse slices about to be deleted for slices about to be created, family by
	// family (the address type of a slice cannot change): one update instead of a
	// delete and a create.
	var creates []*discoveryv1.EndpointSlice
	for _, s := range p.create {
		i := slices.IndexFunc(p.delete, func(old *discoveryv1.EndpointSlice) bool { return old.AddressType == s.AddressType })
		if i < 0 {
			creates = append(creates, s)
			continue
		}
		old := p.delete[i]
		p.delete = slices.Delete(p.delete, i, i+1)
		p.update = append(p.update, fill(old, s.Labels, s.Annotations, s.OwnerReferences, &group{ports: s.Ports, endpoints: s.Endpoints}))
	}
	p.create = creates
	return p
}

// fill returns a copy of cur carrying the desired content.
func fill(cur *discoveryv1.EndpointSlice, lbls, annotations map[string]string, owners []metav1.OwnerReference, g *group) *discoveryv1.EndpointSlice {
	s := cur.DeepCopy()
	s.Labels, s.Annotations, s.OwnerReferences = lbls, annotations, owners
	s.Ports, s.Endpoints = g.ports, g.endpoints
	return s
}

// sameEndpoints compares endpoint lists regardless of order; want is sorted.
func sameEndpoints(have, want []discoveryv1.Endpoint) bool {
	if len(have) != len(want) {
		return false
	}
	if !slices.IsSortedFunc(have, compareEndpoints) {
		have = slices.Clone(have)
		slices.SortFunc(have, compareEndpoints)
	}
	return equality.Semantic.DeepEqual(have, want)
}

// apply performs the planned writes: creates (not for an Endpoints being deleted),
// then updates, then deletes.
func (c *Controller) apply(ctx context.Context, key string, ep *corev1.Endpoints, p plan) error {
	client := c.client.DiscoveryV1().EndpointSlices(ep.Namespace)
	if ep.DeletionTimestamp == nil {
		for _, s := range p.create {
			got, err := client.Create(ctx, s, metav1.CreateOptions{})
			if err != nil {
				// A terminating namespace refuses creates until it is gone.
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil
				}
				return fmt.Errorf("create endpointslice for %s: %w", key, err)
			}
			c.expect.created(key, got.Name)
			c.metrics.changes.WithLabelValues("create").Inc()
		}
	}
	for _, s := range p.update {
		got, err := client.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("update endpointslice %s for %s: %w", s.Name, key, err)
		}
		c.expect.updated(key, s.Name, s.ResourceVersion, got.ResourceVersion)
		c.metrics.changes.WithLabelValues("update").Inc()
	}
	return c.deleteSlices(ctx, key, p.delete)
}

func (c *Controller) deleteSlices(ctx context.Context, key string, ss []*discoveryv1.EndpointSlice) error {
	var errs []error
	for _, s := range ss {
		uid := s.UID
		err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue // already gone, or replaced by a newer object
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete endpointslice %s for %s: %w", s.Name, key, err))
			continue
		}
		c.expect.deleted(key, s.Name)
		c.metrics.changes.WithLabelValues("delete").Inc()
	}
	return errors.Join(errs...)
}

// reportSkipped counts and announces addresses that were not mirrored.
func (c *Controller) reportSkipped(ep *corev1.Endpoints, d desired) {
	if n := d.invalid + d.overflow; n > 0 {
		c.metrics.skipped.Add(float64(n))
	}
	if c.opts.Recorder == nil {
		return
	}
	if d.invalid > 0 {
		c.opts.Recorder.Eventf(ep, corev1.EventTypeWarning, "InvalidIPAddress",
			"%d addresses are not usable IPs and were left out of the EndpointSlices", d.invalid)
	}
	if d.overflow > 0 {
		c.opts.Recorder.Eventf(ep, corev1.EventTypeWarning, "TooManyAddressesToMirror",
			"%d addresses were left out of the EndpointSlices: each subset mirrors at most %d",
			d.overflow, c.opts.MaxEndpointsPerSubset)
	}
}
