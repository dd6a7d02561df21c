package endpointslice

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// portListKey returns a key equal for port lists that are the same set of ports
// in any order. An unset name or appProtocol counts as empty, an unset protocol
// as TCP (the API's default).
func portListKey(ports []discoveryv1.EndpointPort) string {
	if len(ports) == 0 {
		return ""
	}
	type norm struct {
		name, proto, app string
		port             int64
	}
	ns := make([]norm, len(ports))
	for i := range ports {
		p := &ports[i]
		n := norm{name: deref(p.Name), proto: string(corev1.ProtocolTCP), app: deref(p.AppProtocol), port: -1}
		if p.Protocol != nil {
			n.proto = string(*p.Protocol)
		}
		if p.Port != nil {
			n.port = int64(*p.Port)
		}
		ns[i] = n
	}
	slices.SortFunc(ns, func(a, b norm) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.proto, b.proto),
			cmp.Compare(a.port, b.port), strings.Compare(a.app, b.app))
	})
	var b strings.Builder
	for _, n := range ns {
		// NUL cannot occur in a name, protocol or appProtocol.
		b.WriteString(n.name)
		b.WriteByte(0)
		b.WriteString(n.proto)
		b.WriteByte(0)
		b.WriteString(strconv.FormatInt(n.port, 10))
		b.WriteByte(0)
		b.WriteString(n.app)
		b.WriteByte(0)
	}
	return b.String()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// endpointKey identifies an endpoint across syncs: by its Pod, so that a Pod's
// endpoint keeps its place when its IP or conditions change. An endpoint not
// pointing at a Pod (never one of ours) is keyed by its addresses and never
// matches a desired one.
func endpointKey(ep *discoveryv1.Endpoint) string {
	if r := ep.TargetRef; r != nil && r.Kind == "Pod" && r.Name != "" {
		return r.Name
	}
	return "\x00" + strings.Join(ep.Addresses, ",")
}

// endpointsEqual reports whether two endpoints say the same thing: the same
// addresses in any order, and equal conditions, hostname, node, zone, target and
// hints.
func endpointsEqual(a, b *discoveryv1.Endpoint) bool {
	return sameStrings(a.Addresses, b.Addresses) &&
		ptrEqual(a.Conditions.Ready, b.Conditions.Ready) &&
		ptrEqual(a.Conditions.Serving, b.Conditions.Serving) &&
		ptrEqual(a.Conditions.Terminating, b.Conditions.Terminating) &&
		ptrEqual(a.Hostname, b.Hostname) &&
		ptrEqual(a.NodeName, b.NodeName) &&
		ptrEqual(a.Zone, b.Zone) &&
		ptrEqual(a.TargetRef, b.TargetRef) &&
		hintsEqual(a.Hints, b.Hints) &&
		len(a.DeprecatedTopology) == 0 && len(b.DeprecatedTopology) == 0
}

// ptrEqual compares two optional values: both unset, or both set and equal.
func ptrEqual[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// sameStrings reports whether a and b hold the same strings in any order.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	switch len(a) {
	case 0:
		return true
	case 1:
		return a[0] == b[0]
	}
	if slices.Equal(a, b) {
		return true
	}
	as, bs := slices.Clone(a), slices.Clone(b)
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

// hintsEqual compares hints as sets of zone and node names; no hints and empty
// hints are the same.
func hintsEqual(a, b *discoveryv1.EndpointHints) bool {
	var az, bz []discoveryv1.ForZone
	var an, bn []discoveryv1.ForNode
	if a != nil {
		az, an = a.ForZones, a.ForNodes
	}
	if b != nil {
		bz, bn = b.ForZones, b.ForNodes
	}
	return sameNames(az, bz, func(z discoveryv1.ForZone) string { return z.Name }) &&
		sameNames(an, bn, func(n discoveryv1.ForNode) string { return n.Name })
}

// sameNames reports whether a and b name the same things in any order. Hint
// lists are short (at most 8) and free of duplicates, so a quadratic scan is
// cheapest.
func sameNames[T any](a, b []T, name func(T) string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if name(x) == name(y) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
