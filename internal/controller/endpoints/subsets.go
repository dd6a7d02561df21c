package endpoints

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// addrKey identifies an address: the same IP may belong to two different targets.
type addrKey struct {
	ip  string
	uid types.UID
}

func keyOf(a *corev1.EndpointAddress) addrKey {
	k := addrKey{ip: a.IP}
	if a.TargetRef != nil {
		k.uid = a.TargetRef.UID
	}
	return k
}

// portKey identifies an EndpointPort by value (EndpointPort holds a pointer).
// none marks addresses offered without any port (headless Services without ports).
type portKey struct {
	name, proto, app string
	port             int32
	hasApp, none     bool
}

func portKeyOf(p corev1.EndpointPort) portKey {
	k := portKey{name: p.Name, proto: string(p.Protocol), port: p.Port}
	if p.AppProtocol != nil {
		k.app, k.hasApp = *p.AppProtocol, true
	}
	return k
}

func (k portKey) String() string {
	if k.none {
		return ""
	}
	return k.name + "/" + k.proto + "/" + strconv.Itoa(int(k.port)) + "/" + k.app
}

// Repack returns subsets in canonical form: every address appears once per port,
// ports offered by exactly the same addresses (with the same readiness) share one
// subset, an address that is not ready for some port is not ready for it, and
// subsets, addresses and ports are sorted. Addresses are identified by IP and
// target UID. Subsets without ports are kept as port-less subsets. The input is
// not modified; the result shares no slices with it.
//
// Two inputs describing the same endpoints repack to equal outputs, which is what
// lets a controller compare desired and stored Endpoints without spurious writes.
func Repack(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	addrs := map[addrKey]corev1.EndpointAddress{}
	ports := map[portKey]corev1.EndpointPort{}
	// byPort records, per port, which addresses offer it and whether they are ready.
	byPort := map[portKey]map[addrKey]bool{}
	mark := func(pk portKey, a *corev1.EndpointAddress, ready bool) {
		ak := keyOf(a)
		if _, ok := addrs[ak]; !ok {
			addrs[ak] = *a.DeepCopy()
		}
		set := byPort[pk]
		if set == nil {
			set = map[addrKey]bool{}
			byPort[pk] = set
		}
		if was, ok := set[ak]; !ok || was {
			set[ak] = ready // not ready wins over ready
		}
	}
	for i := range subsets {
		s := &subsets[i]
		keys := make([]portKey, 0, len(s.Ports))
		for _, p := range s.Ports {
			pk := portKeyOf(p)
			ports[pk] = *p.DeepCopy()
			keys = append(keys, pk)
		}
		if len(keys) == 0 {
			keys = append(keys, portKey{none: true})
		}
		for _, pk := range keys {
			for j := range s.Addresses {
				mark(pk, &s.Addresses[j], true)
			}
			for j := range s.NotReadyAddresses {
				mark(pk, &s.NotReadyAddresses[j], false)
			}
		}
	}

	// Group the ports by the exact set of (address, readiness) offering them.
	type group struct {
		set   map[addrKey]bool
		ports []portKey
	}
	groups := map[string]*group{}
	for pk, set := range byPort {
		sig := signature(set)
		g := groups[sig]
		if g == nil {
			g = &group{set: set}
			groups[sig] = g
		}
		g.ports = append(g.ports, pk)
	}

	out := make([]corev1.EndpointSubset, 0, len(groups))
	for _, g := range groups {
		var s corev1.EndpointSubset
		for ak, ready := range g.set {
			if ready {
				s.Addresses = append(s.Addresses, addrs[ak])
			} else {
				s.NotReadyAddresses = append(s.NotReadyAddresses, addrs[ak])
			}
		}
		for _, pk := range g.ports {
			if !pk.none {
				s.Ports = append(s.Ports, ports[pk])
			}
		}
		sortAddresses(s.Addresses)
		sortAddresses(s.NotReadyAddresses)
		slices.SortFunc(s.Ports, func(a, b corev1.EndpointPort) int {
			return strings.Compare(portKeyOf(a).String(), portKeyOf(b).String())
		})
		out = append(out, s)
	}
	slices.SortFunc(out, compareSubsets)
	return out
}

// signature is a string naming a set of addresses with their readiness.
func signature(set map[addrKey]bool) string {
	keys := make([]addrKey, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareAddrKeys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.ip)
		b.WriteByte('/')
		b.WriteString(string(k.uid))
		if set[k] {
			b.WriteString("/r;")
		} else {
			b.WriteString("/n;")
		}
	}
	return b.String()
}

func compareAddrKeys(a, b addrKey) int {
	return cmp.Or(strings.Compare(a.ip, b.ip), strings.Compare(string(a.uid), string(b.uid)))
}

// sortAddresses orders addresses by IP text, then target UID (as kube does).
func sortAddresses(as []corev1.EndpointAddress) {
	slices.SortFunc(as, func(a, b corev1.EndpointAddress) int {
		return compareAddrKeys(keyOf(&a), keyOf(&b))
	})
}

// compareSubsets orders canonical subsets by their ports, then first addresses.
func compareSubsets(a, b corev1.EndpointSubset) int {
	pa, pb := make([]string, len(a.Ports)), make([]string, len(b.Ports))
	for i, p := range a.Ports {
		pa[i] = portKeyOf(p).String()
	}
	for i, p := range b.Ports {
		pb[i] = portKeyOf(p).String()
	}
	if c := slices.Compare(pa, pb); c != 0 {
		return c
	}
	first := func(s corev1.EndpointSubset) addrKey {
		if len(s.Addresses) > 0 {
			return keyOf(&s.Addresses[0])
		}
		if len(s.NotReadyAddresses) > 0 {
			return keyOf(&s.NotReadyAddresses[0])
		}
		return addrKey{}
	}
	return compareAddrKeys(first(a), first(b))
}

// countAddresses returns the number of ready and not-ready addresses.
func countAddresses(subsets []corev1.EndpointSubset) (ready, notReady int) {
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	return ready, notReady
}

// truncate cuts subsets down to at most max addresses and reports whether it had
// to. Ready addresses are kept first: when they alone exceed max, every not-ready
// address goes and the ready ones are cut; otherwise the room left after the ready
// ones is shared among the not-ready ones. Either way each subset keeps a share
// proportional to its size (rounded up, so later subsets may get less), keeping
// the first addresses in canonical order. Subsets left empty are dropped.
func truncate(subsets []corev1.EndpointSubset, max int) ([]corev1.EndpointSubset, bool) {
	ready, notReady := countAddresses(subsets)
	if ready+notReady <= max {
		return subsets, false
	}
	cutReady := ready > max
	budget, total := max-ready, notReady
	if cutReady {
		budget, total = max, ready
	}
	left := budget
	out := subsets[:0]
	for _, s := range subsets {
		n := len(s.NotReadyAddresses)
		if cutReady {
			n = len(s.Addresses)
		}
		share := min((n*budget+total-1)/total, left, n)
		if cutReady {
			s.Addresses = s.Addresses[:share]
			s.NotReadyAddresses = nil
		} else {
			s.NotReadyAddresses = s.NotReadyAddresses[:share]
		}
		left -= share
		if len(s.Addresses)+len(s.NotReadyAddresses) > 0 {
			out = append(out, s)
		}
	}
	return out, true
}
