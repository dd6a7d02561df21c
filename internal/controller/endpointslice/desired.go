package endpointslice

import (
	"encoding/binary"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilnet "k8s.io/utils/net"
)

// desiredEndpoint is one endpoint the Service should have, with the storage its
// pointer fields point into (one allocation per endpoint).
type desiredEndpoint struct {
	ep                          discoveryv1.Endpoint
	ready, serving, terminating bool
	nodeName, zone, hostname    string
	ref                         corev1.ObjectReference
	// placed is set once the endpoint has found its slice during a plan.
	placed bool
}

// portGroup is the desired endpoints of one address type that share a resolved
// port list.
type portGroup struct {
	ports     []discoveryv1.EndpointPort
	endpoints map[string]*desiredEndpoint // by endpointKey
}

// desiredState is everything a Service should publish, per address type and port
// list (keyed by portListKey).
type desiredState struct {
	families []discoveryv1.AddressType
	groups   map[discoveryv1.AddressType]map[string]*portGroup
	// missingNodes counts Pods left out because their Node is not known.
	missingNodes int
}

// selectsPods reports whether the controller publishes endpoints for svc at all.
func selectsPods(svc *corev1.Service) bool {
	return svc.Spec.Selector != nil && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// addressTypes returns the address types of svc's slices: those of
// spec.ipFamilies; failing that the family of the cluster IP; failing that (a
// headless Service from before dual-stack) both.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		var t discoveryv1.AddressType
		switch f {
		case corev1.IPv4Protocol:
			t = discoveryv1.AddressTypeIPv4
		case corev1.IPv6Protocol:
			t = discoveryv1.AddressTypeIPv6
		default:
			continue
		}
		if len(out) == 0 || out[0] != t {
			out = append(out, t)
		}
	}
	if len(out) > 0 {
		return out
	}
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		if utilnet.IsIPv6String(ip) {
			return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv6}
		}
		return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
}

// isHeadless reports whether svc has no cluster IP.
func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.ClusterIP == ""
}

// sliceLabels returns the labels every slice of svc carries.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		if !reservedLabel(k) {
			out[k] = v
		}
	}
	if isHeadless(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ControllerName
	return out
}

// reservedLabel reports whether a label key is set by the controller rather than
// copied from the Service.
func reservedLabel(k string) bool {
	return k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy || k == corev1.IsHeadlessService
}

// includePod reports whether pod can be an endpoint at all: not terminal and with
// an IP. Terminating Pods are included (with terminating=true).
func includePod(pod *corev1.Pod) bool {
	return !isTerminal(pod) && (pod.Status.PodIP != "" || len(pod.Status.PodIPs) > 0)
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func isPodReady(pod *corev1.Pod) bool {
	for i := range pod.Status.Conditions {
		if c := &pod.Status.Conditions[i]; c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// isSidecar reports whether an init container keeps running beside the main
// containers (restartPolicy Always), so its ports serve traffic.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// findPort resolves a Service port's targetPort on pod: a number is used as is
// (0, an undefaulted targetPort, means the Service port); a name is looked up
// among the ports of the containers, then of sidecar init containers, with the
// same name and protocol. ok is false when the Pod has no such port.
func findPort(pod *corev1.Pod, sp *corev1.ServicePort) (port int32, ok bool) {
	if sp.TargetPort.Type == intstr.Int {
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, true
		}
		return sp.TargetPort.IntVal, true
	}
	name := sp.TargetPort.StrVal
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.Name == name && p.Protocol == sp.Protocol {
				return p.ContainerPort, true
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		if !isSidecar(&pod.Spec.InitContainers[i]) {
			continue
		}
		for _, p := range pod.Spec.InitContainers[i].Ports {
			if p.Name == name && p.Protocol == sp.Protocol {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// nodeZones looks Nodes up once per sync.
type nodeZones struct {
	get   func(name string) (*corev1.Node, error)
	cache map[string]nodeInfo
}

type nodeInfo struct {
	zone  string
	found bool
}

func (z *nodeZones) lookup(name string) (nodeInfo, error) {
	if info, ok := z.cache[name]; ok {
		return info, nil
	}
	var info nodeInfo
	if name != "" {
		node, err := z.get(name)
		switch {
		case err == nil:
			info = nodeInfo{zone: node.Labels[corev1.LabelTopologyZone], found: true}
		case !apierrors.IsNotFound(err):
			return nodeInfo{}, err
		}
	}
	z.cache[name] = info
	return info, nil
}

// buildDesired computes what svc should publish from the Pods its selector
// matches.
func buildDesired(svc *corev1.Service, pods []*corev1.Pod, nodes *nodeZones) (*desiredState, error) {
	d := &desiredState{
		families: addressTypes(svc),
		groups:   map[discoveryv1.AddressType]map[string]*portGroup{},
	}
	for _, f := range d.families {
		d.groups[f] = map[string]*portGroup{}
	}
	ports := newPortResolver(svc)
	arenas := make([]*arena, len(d.families))
	for i := range arenas {
		arenas[i] = newArena(len(pods))
	}
	for _, pod := range pods {
		if !includePod(pod) {
			continue
		}
		node, err := nodes.lookup(pod.Spec.NodeName)
		if err != nil {
			return nil, err
		}
		if !node.found && !svc.Spec.PublishNotReadyAddresses {
			d.missingNodes++
			continue
		}
		spec := ports.resolve(pod)
		for i, f := range d.families {
			ep := podEndpoint(arenas[i], pod, svc, f, node.zone)
			if ep == nil {
				continue
			}
			g := d.groups[f][spec.key]
			if g == nil {
				size := 0
				if len(d.groups[f]) == 0 {
					// Usually every endpoint of the family lands in the first group.
					size = len(pods)
				}
				g = &portGroup{ports: spec.ports, endpoints: make(map[string]*desiredEndpoint, size)}
				d.groups[f][spec.key] = g
			}
			g.endpoints[pod.Name] = ep
		}
	}
	return d, nil
}

// podEndpoint builds pod's endpoint of address type family, or nil when the Pod
// has no usable address of that family.
func podEndpoint(a *arena, pod *corev1.Pod, svc *corev1.Service, family discoveryv1.AddressType, zone string) *desiredEndpoint {
	start := len(a.addrs)
	a.addrs = podAddresses(pod, family, a.addrs)
	if len(a.addrs) == start {
		return nil
	}
	// Clipped: the list is shared storage, appends must not reach a neighbour.
	addrs := a.addrs[start:len(a.addrs):len(a.addrs)]
	d := a.endpoint()
	*d = desiredEndpoint{
		serving:     isPodReady(pod),
		terminating: pod.DeletionTimestamp != nil,
		nodeName:    pod.Spec.NodeName,
		zone:        zone,
		ref:         corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	// A terminating Pod is never ready unless the Service publishes everything.
	d.ready = svc.Spec.PublishNotReadyAddresses || (d.serving && !d.terminating)
	d.ep = discoveryv1.Endpoint{
		Addresses:  addrs,
		Conditions: discoveryv1.EndpointConditions{Ready: &d.ready, Serving: &d.serving, Terminating: &d.terminating},
		TargetRef:  &d.ref,
	}
	if d.nodeName != "" {
		d.ep.NodeName = &d.nodeName
	}
	if d.zone != "" {
		d.ep.Zone = &d.zone
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		d.hostname = pod.Spec.Hostname
		d.ep.Hostname = &d.hostname
	}
	d.ep.Hints = hintsFor(svc.Spec.TrafficDistribution, d.ready, d.nodeName, d.zone)
	return d
}

// hintsFor returns the hints trafficDistribution asks for on a ready endpoint: its
// own zone for PreferClose and PreferSameZone, its own node (and zone) for
// PreferSameNode. Other endpoints and other values get none.
func hintsFor(dist *string, ready bool, node, zone string) *discoveryv1.EndpointHints {
	if dist == nil || !ready {
		return nil
	}
	var h discoveryv1.EndpointHints
	switch *dist {
	case corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone:
	case corev1.ServiceTrafficDistributionPreferSameNode:
		if node != "" {
			h.ForNodes = []discoveryv1.ForNode{{Name: node}}
		}
	default:
		return nil
	}
	if zone != "" {
		h.ForZones = []discoveryv1.ForZone{{Name: zone}}
	}
	if h.ForZones == nil && h.ForNodes == nil {
		return nil
	}
	return &h
}

// podAddresses appends pod's IPs of the given family, in canonical form, to out.
// IPs a slice may not carry (unspecified, loopback, link-local) are left out: one
// of them would make the API server refuse the whole slice.
func podAddresses(pod *corev1.Pod, family discoveryv1.AddressType, out []string) []string {
	add := func(s string) {
		ip, canonical, ok := parseIP(s)
		if !ok || ip.Is6() != (family == discoveryv1.AddressTypeIPv6) || !publishable(ip) {
			return
		}
		if !canonical {
			s = ip.String()
		}
		out = append(out, s)
	}
	if len(pod.Status.PodIPs) == 0 {
		add(pod.Status.PodIP)
	}
	for _, ip := range pod.Status.PodIPs {
		add(ip.IP)
	}
	return out
}

// parseIP parses an IP as kube's sloppy parser does (IPv4 octets with leading
// zeros are decimal) and unmaps IPv4-mapped IPv6 addresses. canonical is true
// when s is already the address's canonical text (the common IPv4 case, which
// then costs no allocation).
func parseIP(s string) (ip netip.Addr, canonical, ok bool) {
	ip, err := netip.ParseAddr(s)
	if err == nil && ip.Is4() {
		return ip, true, true
	}
	if err != nil {
		legacy := utilnet.ParseIPSloppy(s)
		if legacy == nil {
			return netip.Addr{}, false, false
		}
		if ip, ok = netip.AddrFromSlice(legacy); !ok {
			return netip.Addr{}, false, false
		}
	}
	if ip.Zone() != "" {
		return netip.Addr{}, false, false
	}
	return ip.Unmap(), false, true
}

// publishable reports whether the API server accepts ip as an endpoint address.
func publishable(ip netip.Addr) bool {
	return !ip.IsUnspecified() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast()
}

// arena hands out desired endpoints and address lists from shared blocks, so
// that building a Service's endpoints costs a few allocations rather than a few
// per Pod. Handed-out endpoints never move.
type arena struct {
	eps   []desiredEndpoint
	addrs []string
}

// newArena sizes an arena for n endpoints of one address type.
func newArena(n int) *arena {
	return &arena{eps: make([]desiredEndpoint, 0, n), addrs: make([]string, 0, n)}
}

func (a *arena) endpoint() *desiredEndpoint {
	if len(a.eps) == cap(a.eps) {
		// Growing would move the endpoints handed out so far.
		return &desiredEndpoint{}
	}
	a.eps = a.eps[:len(a.eps)+1]
	return &a.eps[len(a.eps)-1]
}

// portSpec is one resolved port list and its canonical key.
type portSpec struct {
	key   string
	ports []discoveryv1.EndpointPort
}

// portResolver resolves a Service's ports per Pod. Pods resolving to the same
// numbers share one portSpec, so the port list is built once per distinct
// resolution, not once per Pod.
type portResolver struct {
	svc *corev1.Service
	// fixed is set when no targetPort is a name: every Pod gets it.
	fixed   *portSpec
	byNums  map[string]*portSpec
	scratch []byte
}

func newPortResolver(svc *corev1.Service) *portResolver {
	r := &portResolver{svc: svc, byNums: map[string]*portSpec{}}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].TargetPort.Type == intstr.String {
			return r
		}
	}
	r.fixed = r.build(nil)
	return r
}

// resolve returns pod's port list.
func (r *portResolver) resolve(pod *corev1.Pod) *portSpec {
	if r.fixed != nil {
		return r.fixed
	}
	r.scratch = r.scratch[:0]
	for i := range r.svc.Spec.Ports {
		n, ok := findPort(pod, &r.svc.Spec.Ports[i])
		if !ok {
			n = -1
		}
		r.scratch = binary.LittleEndian.AppendUint32(r.scratch, uint32(n))
	}
	if spec, ok := r.byNums[string(r.scratch)]; ok {
		return spec
	}
	spec := r.build(pod)
	r.byNums[string(r.scratch)] = spec
	return spec
}

// build makes the port list for pod (nil when no targetPort is a name).
func (r *portResolver) build(pod *corev1.Pod) *portSpec {
	ports := make([]discoveryv1.EndpointPort, 0, len(r.svc.Spec.Ports))
	for i := range r.svc.Spec.Ports {
		sp := &r.svc.Spec.Ports[i]
		var n int32
		if pod == nil {
			n, _ = findPort(&corev1.Pod{}, sp)
		} else {
			var ok bool
			if n, ok = findPort(pod, sp); !ok {
				continue
			}
		}
		name, proto := sp.Name, sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, discoveryv1.EndpointPort{Name: &name, Port: &n, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return &portSpec{key: portListKey(ports), ports: ports}
}
