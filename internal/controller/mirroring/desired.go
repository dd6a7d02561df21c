package mirroring

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnet/svcnet/internal/controller/endpoints"
)

// sliceKey identifies a group of endpoints that share one EndpointSlice: the
// address family and the port set (in canonical text form).
type sliceKey struct {
	family discoveryv1.AddressType
	ports  string
}

// group is the desired content of one slice.
type group struct {
	ports     []discoveryv1.EndpointPort
	endpoints []discoveryv1.Endpoint
}

// desired is what an Endpoints object mirrors to.
type desired struct {
	groups map[sliceKey]*group
	// invalid counts addresses skipped for not being usable IPs; overflow those
	// skipped for exceeding the per-subset limit.
	invalid, overflow int
}

// desiredSlices computes the slice groups for ep. Every subset's port set gets an
// entry for both families, possibly empty, so that slices left without endpoints
// are recognised as unwanted.
func desiredSlices(ep *corev1.Endpoints, maxPerSubset int) desired {
	d := desired{groups: map[sliceKey]*group{}}
	for _, subset := range endpoints.Repack(ep.Subsets) {
		ports := slicePorts(subset.Ports)
		pk := portsKey(ports)
		for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
			if d.groups[sliceKey{family, pk}] == nil {
				d.groups[sliceKey{family, pk}] = &group{ports: ports}
			}
		}
		added := 0
		add := func(addrs []corev1.EndpointAddress, ready bool) {
			for i := range addrs {
				if added >= maxPerSubset {
					d.overflow += len(addrs) - i
					return
				}
				e, family, ok := toEndpoint(&addrs[i], ready)
				if !ok {
					d.invalid++
					continue
				}
				g := d.groups[sliceKey{family, pk}]
				g.endpoints = append(g.endpoints, e)
				added++
			}
		}
		add(subset.Addresses, true)
		add(subset.NotReadyAddresses, false)
	}
	return d
}

// toEndpoint converts an Endpoints address. It refuses what is not an IP, or is an
// IP no Service may point at (unspecified, loopback, link-local), the same rule
// the API applies to new addresses.
func toEndpoint(a *corev1.EndpointAddress, ready bool) (discoveryv1.Endpoint, discoveryv1.AddressType, bool) {
	ip, err := netip.ParseAddr(a.IP)
	if err != nil || ip.Zone() != "" {
		return discoveryv1.Endpoint{}, "", false
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return discoveryv1.Endpoint{}, "", false
	}
	family := discoveryv1.AddressTypeIPv4
	if ip.Is6() {
		family = discoveryv1.AddressTypeIPv6
	}
	e := discoveryv1.Endpoint{
		Addresses:  []string{ip.String()},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready},
	}
	if a.Hostname != "" {
		h := a.Hostname
		e.Hostname = &h
	}
	if a.NodeName != nil {
		n := *a.NodeName
		e.NodeName = &n
	}
	if a.TargetRef != nil {
		e.TargetRef = a.TargetRef.DeepCopy()
	}
	return e, family, true
}

// slicePorts converts Endpoints ports, in canonical order; an empty protocol is
// TCP, as the API defaults it.
func slicePorts(in []corev1.EndpointPort) []discoveryv1.EndpointPort {
	out := make([]discoveryv1.EndpointPort, 0, len(in))
	for _, p := range in {
		name, port, proto := p.Name, p.Port, p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ep := discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto}
		if p.AppProtocol != nil {
			app := *p.AppProtocol
			ep.AppProtocol = &app
		}
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b discoveryv1.EndpointPort) int { return strings.Compare(portString(a), portString(b)) })
	return out
}

// portsKey names a port set independently of its order.
func portsKey(ports []discoveryv1.EndpointPort) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = portString(p)
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

func portString(p discoveryv1.EndpointPort) string {
	var b strings.Builder
	if p.Name != nil {
		b.WriteString(*p.Name)
	}
	b.WriteByte('/')
	if p.Protocol != nil {
		b.WriteString(string(*p.Protocol))
	}
	b.WriteByte('/')
	if p.Port != nil {
		b.WriteString(strconv.Itoa(int(*p.Port)))
	}
	if p.AppProtocol != nil {
		b.WriteByte('/')
		b.WriteString(*p.AppProtocol)
	}
	return b.String()
}

// sliceLabels are the Endpoints' labels plus the two that tie a slice to this
// controller and the Service.
func sliceLabels(ep *corev1.Endpoints) map[string]string {
	l := make(map[string]string, len(ep.Labels)+2)
	maps.Copy(l, ep.Labels)
	l[discoveryv1.LabelServiceName] = ep.Name
	l[discoveryv1.LabelManagedBy] = ControllerName
	return l
}

// sliceAnnotations are the Endpoints' annotations without those that describe the
// Endpoints object itself.
func sliceAnnotations(ep *corev1.Endpoints) map[string]string {
	var a map[string]string
	for k, v := range ep.Annotations {
		if k == corev1.EndpointsLastChangeTriggerTime || k == corev1.LastAppliedConfigAnnotation {
			continue
		}
		if a == nil {
			a = map[string]string{}
		}
		a[k] = v
	}
	return a
}

// ownerRefs makes the Service the slice's controller.
func ownerRefs(svc *corev1.Service) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))}
}

// generateNamePrefix is the name prefix of new slices: "<name>-", cut so that the
// generated name stays within 63 characters as kube-apiserver's generator does.
func generateNamePrefix(name string) string {
	p := name + "-"
	if len(p) > 58 {
		p = p[:58]
	}
	return p
}

// compareEndpoints orders endpoints by address text, then target UID.
func compareEndpoints(a, b discoveryv1.Endpoint) int {
	var aa, ba string
	if len(a.Addresses) > 0 {
		aa = a.Addresses[0]
	}
	if len(b.Addresses) > 0 {
		ba = b.Addresses[0]
	}
	var au, bu string
	if a.TargetRef != nil {
		au = string(a.TargetRef.UID)
	}
	if b.TargetRef != nil {
		bu = string(b.TargetRef.UID)
	}
	return cmp.Or(strings.Compare(aa, ba), strings.Compare(au, bu))
}
