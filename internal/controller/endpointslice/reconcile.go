package endpointslice

import (
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// plan is the slice writes that bring a Service's slices to the desired state.
// Objects in creates and updates are new (never the informer's); deletes are the
// cached slices.
type plan struct {
	creates []*discoveryv1.EndpointSlice
	updates []*discoveryv1.EndpointSlice
	deletes []*discoveryv1.EndpointSlice
	// endpointChanges counts endpoints added, changed or removed.
	endpointChanges int
}

// writes is the number of API writes the plan makes.
func (p *plan) writes() int {
	return len(p.creates) + len(p.updates) + len(p.deletes)
}

// planner computes the plan of one Service sync.
type planner struct {
	svc         *corev1.Service
	labels      map[string]string
	ownerRef    metav1.OwnerReference
	maxPerSlice int
	trigger     time.Time
}

func newPlanner(svc *corev1.Service, maxPerSlice int, trigger time.Time) *planner {
	return &planner{
		svc:         svc,
		labels:      sliceLabels(svc),
		ownerRef:    *metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service")),
		maxPerSlice: maxPerSlice,
		trigger:     trigger,
	}
}

// ownedBy reports whether a slice's owner is svc itself (this UID), not an
// earlier Service of the same name.
func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, r := range s.OwnerReferences {
		if r.UID == svc.UID && r.Kind == "Service" && r.APIVersion == "v1" {
			return true
		}
	}
	return false
}

// plan compares the desired state with the slices the controller manages for the
// Service (cached) and returns the writes that reconcile them.
func (p *planner) plan(d *desiredState, cached []*discoveryv1.EndpointSlice) plan {
	var out plan
	byFamily := map[discoveryv1.AddressType][]*discoveryv1.EndpointSlice{}
	for _, s := range cached {
		_, wanted := d.groups[s.AddressType]
		if !wanted || !ownedBy(s, p.svc) {
			// Another family (address types are immutable) or another Service's
			// slice: never reused, only deleted.
			out.deletes = append(out.deletes, s)
			out.endpointChanges += len(s.Endpoints)
			continue
		}
		byFamily[s.AddressType] = append(byFamily[s.AddressType], s)
	}
	for _, f := range d.families {
		p.planFamily(f, d.groups[f], byFamily[f], &out)
	}
	if p.svc.DeletionTimestamp != nil {
		// The Service is going away: make nothing its garbage collection would
		// have to chase.
		out.creates = nil
	}
	slices.SortFunc(out.updates, compareSlices)
	slices.SortFunc(out.deletes, compareSlices)
	return out
}

// sliceState is an owned slice of the Service as the plan leaves it.
type sliceState struct {
	orig      *discoveryv1.EndpointSlice
	endpoints []discoveryv1.Endpoint
	changed   bool
}

// planFamily plans the slices of one address type. The steps:
//
//  1. Every existing slice keeps the endpoints that are still desired for its port
//     list, updated where they changed, and loses the others; it is changed if
//     any endpoint or its labels differ.
//  2. Desired endpoints not yet in a slice fill the changed slices first (they are
//     written anyway), then go to new slices of at most maxPerSlice; a remainder
//     smaller than that goes into the fullest unchanged slice with room for all of
//     it, or into a new slice.
//  3. Slices left empty are deleted, or rewritten in place of a slice that would
//     be created (one update instead of a create and a delete).
//  4. With no endpoints at all, exactly one placeholder slice remains.
func (p *planner) planFamily(family discoveryv1.AddressType, groups map[string]*portGroup, existing []*discoveryv1.EndpointSlice, out *plan) {
	byKey := map[string][]*sliceState{}
	for _, s := range existing {
		k := portListKey(s.Ports)
		byKey[k] = append(byKey[k], &sliceState{orig: s})
	}
	var creates []*discoveryv1.EndpointSlice
	var states []*sliceState
	// Visit port lists in a fixed order so plans are deterministic.
	keys := slices.Sorted(maps.Keys(byKey))
	for k := range groups {
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys[len(byKey):])
	for _, k := range keys {
		sts := byKey[k]
		slices.SortFunc(sts, func(a, b *sliceState) int { return strings.Compare(a.orig.Name, b.orig.Name) })
		g := groups[k]
		for _, st := range sts {
			out.endpointChanges += p.keepDesired(st, g)
		}
		if g != nil {
			creates = append(creates, p.fill(family, g, sts, out)...)
		}
		states = append(states, sts...)
	}

	var empty []*sliceState
	live := len(creates)
	for _, st := range states {
		switch {
		case len(st.endpoints) == 0:
			empty = append(empty, st)
		case st.changed:
			live++
			out.updates = append(out.updates, p.rewrite(st.orig, st.orig.Ports, st.endpoints))
		default:
			live++
		}
	}
	if live == 0 {
		p.placeholder(family, &empty, out)
	}
	// Reuse a slice that would be deleted for each slice that would be created.
	for len(creates) > 0 && len(empty) > 0 {
		c := creates[len(creates)-1]
		creates = creates[:len(creates)-1]
		st := empty[0]
		empty = empty[1:]
		out.updates = append(out.updates, p.rewrite(st.orig, c.Ports, c.Endpoints))
	}
	out.creates = append(out.creates, creates...)
	for _, st := range empty {
		out.deletes = append(out.deletes, st.orig)
	}
}

// keepDesired does step 1 for one slice of port group g (nil when no endpoint
// wants the slice's ports) and returns how many endpoints changed or left. It
// allocates a new endpoint list only when one differs.
func (p *planner) keepDesired(st *sliceState, g *portGroup) int {
	eps := st.orig.Endpoints
	var kept []discoveryv1.Endpoint
	diverged := false
	changes := 0
	for i := range eps {
		var d *desiredEndpoint
		if g != nil {
			d = g.endpoints[endpointKey(&eps[i])]
		}
		same := d != nil && !d.placed && endpointsEqual(&eps[i], &d.ep)
		if !same && !diverged {
			diverged = true
			kept = make([]discoveryv1.Endpoint, i, len(eps)+1)
			copy(kept, eps[:i])
		}
		switch {
		case d == nil || d.placed:
			// No longer desired here, or a duplicate.
			changes++
			continue
		case !same:
			changes++
			kept = append(kept, d.ep)
		case diverged:
			kept = append(kept, eps[i])
		}
		d.placed = true
	}
	if diverged {
		st.endpoints = kept
	} else {
		// Clipped so that filling the slice never writes into the cache's array.
		st.endpoints = slices.Clip(eps)
	}
	st.changed = diverged || !maps.Equal(st.orig.Labels, p.labels)
	return changes
}

// fill does step 2 for port group g, whose existing slices are sts, and returns
// the slices to create.
func (p *planner) fill(family discoveryv1.AddressType, g *portGroup, sts []*sliceState, out *plan) []*discoveryv1.EndpointSlice {
	var rest []*desiredEndpoint
	for _, d := range g.endpoints {
		if !d.placed {
			rest = append(rest, d)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	out.endpointChanges += len(rest)
	slices.SortFunc(rest, func(a, b *desiredEndpoint) int { return strings.Compare(a.ref.Name, b.ref.Name) })
	take := func(n int) []discoveryv1.Endpoint {
		eps := make([]discoveryv1.Endpoint, n)
		for i, d := range rest[:n] {
			eps[i] = d.ep
		}
		rest = rest[n:]
		return eps
	}
	for _, st := range sts {
		if room := p.maxPerSlice - len(st.endpoints); st.changed && room > 0 && len(rest) > 0 {
			st.endpoints = append(st.endpoints, take(min(room, len(rest)))...)
		}
	}
	var creates []*discoveryv1.EndpointSlice
	for len(rest) >= p.maxPerSlice {
		creates = append(creates, p.newSlice(family, g.ports, take(p.maxPerSlice)))
	}
	if len(rest) == 0 {
		return creates
	}
	var best *sliceState
	for _, st := range sts {
		if st.changed || len(st.endpoints)+len(rest) > p.maxPerSlice {
			continue
		}
		if best == nil || len(st.endpoints) > len(best.endpoints) {
			best = st
		}
	}
	if best != nil {
		best.endpoints = append(best.endpoints, take(len(rest))...)
		best.changed = true
		return creates
	}
	return append(creates, p.newSlice(family, g.ports, take(len(rest))))
}

// placeholder does step 4: it keeps one existing placeholder, or turns an empty
// slice into one, or plans a new one. empty loses the slice it uses.
func (p *planner) placeholder(family discoveryv1.AddressType, empty *[]*sliceState, out *plan) {
	for i, st := range *empty {
		if len(st.orig.Ports) == 0 && len(st.orig.Endpoints) == 0 && maps.Equal(st.orig.Labels, p.labels) {
			*empty = slices.Delete(*empty, i, i+1)
			return
		}
	}
	if len(*empty) > 0 {
		st := (*empty)[0]
		*empty = (*empty)[1:]
		out.updates = append(out.updates, p.rewrite(st.orig, []discoveryv1.EndpointPort{}, []discoveryv1.Endpoint{}))
		return
	}
	out.creates = append(out.creates, p.newSlice(family, []discoveryv1.EndpointPort{}, []discoveryv1.Endpoint{}))
}

// newSlice builds a slice to create.
func (p *planner) newSlice(family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    p.svc.Name + "-",
			Namespace:       p.svc.Namespace,
			Labels:          maps.Clone(p.labels),
			Annotations:     p.annotations(nil),
			OwnerReferences: []metav1.OwnerReference{p.ownerRef},
		},
		AddressType: family,
		Ports:       slices.Clone(ports),
		Endpoints:   eps,
	}
}

// rewrite builds the update of an existing slice to new content. orig is the
// cache's and is not modified.
func (p *planner) rewrite(orig *discoveryv1.EndpointSlice, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		TypeMeta:    orig.TypeMeta,
		ObjectMeta:  orig.ObjectMeta,
		AddressType: orig.AddressType,
		Ports:       slices.Clone(ports),
		Endpoints:   eps,
	}
	s.Labels = maps.Clone(p.labels)
	s.Annotations = p.annotations(orig.Annotations)
	return s
}

// annotations returns a written slice's annotations: the old ones with the
// trigger time set, or removed when this write has no trigger.
func (p *planner) annotations(old map[string]string) map[string]string {
	out := maps.Clone(old)
	if p.trigger.IsZero() {
		delete(out, corev1.EndpointsLastChangeTriggerTime)
		return out
	}
	if out == nil {
		out = make(map[string]string, 1)
	}
	out[corev1.EndpointsLastChangeTriggerTime] = p.trigger.UTC().Format(time.RFC3339Nano)
	return out
}

// compareSlices orders slices by name, for deterministic writes.
func compareSlices(a, b *discoveryv1.EndpointSlice) int {
	return strings.Compare(a.Name, b.Name)
}
