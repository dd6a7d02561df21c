package proxy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// LabelServiceProxyName marks a Service (or its slices) as handled by another proxy.
const LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"

// LabelHeadless marks the EndpointSlices of a headless Service.
const LabelHeadless = "service.kubernetes.io/headless"

// PortName identifies one port of one Service.
type PortName struct {
	Namespace string
	Name      string
	// Port is the Service port's name ("" for a single unnamed port).
	Port     string
	Protocol corev1.Protocol
}

// String gives the form kube-proxy logs: ns/name:port.
func (n PortName) String() string {
	if n.Port == "" {
		return n.Namespace + "/" + n.Name
	}
	return n.Namespace + "/" + n.Name + ":" + n.Port
}

// Endpoint is one backend address of a service port.
type Endpoint struct {
	Addr        netip.Addr
	Port        int32
	Ready       bool
	Serving     bool
	Terminating bool
	// NodeName is the node the endpoint runs on ("" if unknown).
	NodeName string
}

// AddrPort is the endpoint's destination.
func (e Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, uint16(e.Port)) }

// ServicePort is one port of a Service with everything a data plane needs, for
// one IP family.
type ServicePort struct {
	Name      PortName
	ClusterIP netip.Addr
	Port      int32
	Protocol  corev1.Protocol
	// NodePort is 0 when the Service has none.
	NodePort    int32
	ExternalIPs []netip.Addr
	// LoadBalancerIPs are status.loadBalancer.ingress IPs whose ipMode is not Proxy.
	LoadBalancerIPs []netip.Addr
	// SourceRanges are the loadBalancerSourceRanges of this family: when set,
	// only these sources may reach the LoadBalancerIPs. Empty means any source
	// (also when a range is 0.0.0.0/0 or ::/0, as kube-proxy reads it).
	SourceRanges []netip.Prefix
	// AffinityTimeout is the ClientIP affinity timeout; 0 means no affinity.
	AffinityTimeout time.Duration
	// ExternalLocal: externalTrafficPolicy Local (with external addresses).
	ExternalLocal bool
	// InternalLocal: internalTrafficPolicy Local.
	InternalLocal bool
	// HealthCheckNodePort is set for LoadBalancer Services with ExternalLocal.
	HealthCheckNodePort int32
	// Endpoints of this port, sorted by address and port, deduplicated.
	Endpoints []Endpoint
}

// HasExternal reports whether the port is reachable from outside the cluster
// network: a NodePort, an external IP or a load balancer IP.
func (sp *ServicePort) HasExternal() bool {
	return sp.NodePort != 0 || len(sp.ExternalIPs) > 0 || len(sp.LoadBalancerIPs) > 0
}

// usable picks, from eps, the ready ones, or when there is none the serving and
// terminating ones (KEP-1669).
func usable(eps []Endpoint, keep func(Endpoint) bool) []Endpoint {
	var ready, terminating []Endpoint
	for _, e := range eps {
		if !keep(e) {
			continue
		}
		switch {
		case e.Ready:
			ready = append(ready, e)
		case e.Serving && e.Terminating:
			terminating = append(terminating, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}

// ClusterEndpoints are the endpoints that traffic to the ClusterIP may reach from
// node: every usable endpoint, or only node's own under internalTrafficPolicy
// Local.
func (sp *ServicePort) ClusterEndpoints(node string) []Endpoint {
	if sp.InternalLocal {
		return sp.LocalEndpoints(node)
	}
	return usable(sp.Endpoints, func(Endpoint) bool { return true })
}

// ExternalEndpoints are the endpoints that external traffic (node ports, external
// and load balancer IPs) may reach: all usable ones, or node's own under
// externalTrafficPolicy Local.
func (sp *ServicePort) ExternalEndpoints(node string) []Endpoint {
	if sp.ExternalLocal {
		return sp.LocalEndpoints(node)
	}
	return usable(sp.Endpoints, func(Endpoint) bool { return true })
}

// LocalEndpoints are the usable endpoints on node.
func (sp *ServicePort) LocalEndpoints(node string) []Endpoint {
	return usable(sp.Endpoints, func(e Endpoint) bool { return e.NodeName == node })
}

// Snapshot is every proxied service port of one IP family, sorted by name.
type Snapshot struct {
	Ports []*ServicePort
	// Conflicts are the destinations that more than one port claimed; each
	// went to one of them (see [Conflict]) and is absent from the others.
	Conflicts []Conflict
}

// Family selects IPv4 or IPv6 addresses.
type Family int

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) has(a netip.Addr) bool {
	if f == IPv4 {
		return a.Is4()
	}
	return a.Is6() && !a.Is4In6()
}

// Build makes the Snapshot of family from Services and their EndpointSlices.
func Build(family Family, services []*corev1.Service, epSlices []*discoveryv1.EndpointSlice) *Snapshot {
	return NewBuilder(family).Build(services, epSlices)
}

// Builder makes snapshots like [Build] and remembers the service ports of each
// Service: a Service whose object and slices have the resourceVersions they had
// at the last Build keeps its *ServicePort values, so a data plane can tell
// unchanged ports by pointer. One goroutine at a time.
type Builder struct {
	family Family
	cache  map[[2]string]*serviceEntry
	// sorted is the last snapshot's ports, which Update patches.
	sorted []*ServicePort
	built  bool
	// claims says which ports claim each destination.
	claims *claims
}

type serviceEntry struct {
	version string // resourceVersions of the Service and its slices
	ports   []*ServicePort
	// created is the Service's creation time, which settles conflicts.
	created time.Time
}

// NewBuilder returns a Builder for family with an empty memory.
func NewBuilder(family Family) *Builder {
	return &Builder{family: family, cache: map[[2]string]*serviceEntry{}, claims: newClaims()}
}

func newEntry(family Family, version string, svc *corev1.Service, epSlices []*discoveryv1.EndpointSlice) *serviceEntry {
	return &serviceEntry{version: version, ports: servicePorts(family, svc, epSlices), created: svc.CreationTimestamp.Time}
}

// Build makes the snapshot of services and their slices.
func (b *Builder) Build(services []*corev1.Service, epSlices []*discoveryv1.EndpointSlice) *Snapshot {
	family := b.family
	byService := map[[2]string][]*discoveryv1.EndpointSlice{}
	for _, s := range epSlices {
		name := s.Labels[discoveryv1.LabelServiceName]
		if _, other := s.Labels[LabelServiceProxyName]; name == "" || other || !family.hasAddressType(s.AddressType) {
			continue
		}
		k := [2]string{s.Namespace, name}
		byService[k] = append(byService[k], s)
	}
	next := make(map[[2]string]*serviceEntry, len(services))
	snap := &Snapshot{}
	for _, svc := range services {
		if !Proxied(svc) {
			continue
		}
		k := [2]string{svc.Namespace, svc.Name}
		version := entryVersion(svc, byService[k])
		entry, ok := b.cache[k]
		if !ok || version == "" || entry.version != version {
			entry = newEntry(family, version, svc, byService[k])
		}
		next[k] = entry
		snap.Ports = append(snap.Ports, entry.ports...)
	}
	// Claims of reused entries stay; only gone, changed and new ones move.
	for k, old := range b.cache {
		if next[k] != old {
			b.claims.remove(old)
		}
	}
	for k, e := range next {
		if b.cache[k] != e {
			b.claims.add(e)
		}
	}
	b.cache = next
	slices.SortFunc(snap.Ports, func(a, b *ServicePort) int { return ComparePortNames(a.Name, b.Name) })
	// Update patches its own copy: the data plane keeps the snapshot it got.
	b.sorted, b.built = slices.Clone(snap.Ports), true
	snap.Ports, snap.Conflicts = b.claims.resolve(snap.Ports)
	return snap
}

// Built reports whether a Build has happened, which Update needs.
func (b *Builder) Built() bool { return b.built }

// Lookup reads one Service (nil when it is gone) and its slices from the
// caches.
type Lookup func(namespace, name string) (*corev1.Service, []*discoveryv1.EndpointSlice)

// Update makes the snapshot that Build would make after changes to the
// Services (or their slices) named in changed, rebuilding only those: the
// cost of a sync follows the change, not the number of Services. It must
// follow a Build.
func (b *Builder) Update(changed [][2]string, lookup Lookup) *Snapshot {
	cmpPort := func(p *ServicePort, name PortName) int { return ComparePortNames(p.Name, name) }
	for _, k := range changed {
		svc, epSlices := lookup(k[0], k[1])
		var entry *serviceEntry
		if svc != nil && Proxied(svc) {
			mine := make([]*discoveryv1.EndpointSlice, 0, len(epSlices))
			for _, s := range epSlices {
				if _, other := s.Labels[LabelServiceProxyName]; !other && b.family.hasAddressType(s.AddressType) {
					mine = append(mine, s)
				}
			}
			version := entryVersion(svc, mine)
			if old, ok := b.cache[k]; ok && version != "" && old.version == version {
				continue
			}
			entry = newEntry(b.family, version, svc, mine)
		}
		if old, ok := b.cache[k]; ok {
			b.claims.remove(old)
			for _, p := range old.ports {
				if i, found := slices.BinarySearchFunc(b.sorted, p.Name, cmpPort); found {
					b.sorted = slices.Delete(b.sorted, i, i+1)
				}
			}
			delete(b.cache, k)
		}
		if entry == nil {
			continue
		}
		b.cache[k] = entry
		b.claims.add(entry)
		for _, p := range entry.ports {
			i, found := slices.BinarySearchFunc(b.sorted, p.Name, cmpPort)
			if found {
				b.sorted[i] = p // two Services cannot share a port name; stay safe
				continue
			}
			b.sorted = slices.Insert(b.sorted, i, p)
		}
	}
	snap := &Snapshot{Ports: slices.Clone(b.sorted)}
	snap.Ports, snap.Conflicts = b.claims.resolve(snap.Ports)
	return snap
}

// entryVersion identifies the state of a Service and its slices, or is empty
// when an object has no resourceVersion (then nothing is reused).
func entryVersion(svc *corev1.Service, epSlices []*discoveryv1.EndpointSlice) string {
	if svc.ResourceVersion == "" {
		return ""
	}
	parts := make([]string, 0, len(epSlices)+1)
	parts = append(parts, string(svc.UID)+"@"+svc.ResourceVersion)
	for _, s := range epSlices {
		if s.ResourceVersion == "" {
			return ""
		}
		parts = append(parts, s.Name+"@"+s.ResourceVersion)
	}
	slices.Sort(parts[1:])
	return strings.Join(parts, ",")
}

// servicePorts builds the ports of one Service.
func servicePorts(family Family, svc *corev1.Service, epSlices []*discoveryv1.EndpointSlice) []*ServicePort {
	clusterIP, ok := familyIP(family, svc)
	if !ok {
		return nil
	}
	out := make([]*ServicePort, 0, len(svc.Spec.Ports))
	for i := range svc.Spec.Ports {
		sp := newServicePort(family, svc, &svc.Spec.Ports[i], clusterIP)
		sp.Endpoints = endpointsFor(family, sp, epSlices)
		out = append(out, sp)
	}
	return out
}

// ComparePortNames orders port names by namespace, name, port name and protocol.
func ComparePortNames(a, b PortName) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name),
		strings.Compare(a.Port, b.Port), strings.Compare(string(a.Protocol), string(b.Protocol)))
}

// Proxied reports whether a data plane serves svc at all: it has a cluster IP, is
// not ExternalName and is not claimed by another proxy.
func Proxied(svc *corev1.Service) bool {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return false
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return false
	}
	if _, ok := svc.Labels[LabelServiceProxyName]; ok {
		return false
	}
	return true
}

func (f Family) hasAddressType(t discoveryv1.AddressType) bool {
	if f == IPv4 {
		return t == discoveryv1.AddressTypeIPv4
	}
	return t == discoveryv1.AddressTypeIPv6
}

// familyIP returns the Service's cluster IP of family.
func familyIP(family Family, svc *corev1.Service) (netip.Addr, bool) {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && family.has(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func parseFamilyIPs(family Family, in []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range in {
		if a, err := netip.ParseAddr(s); err == nil && family.has(a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

func newServicePort(family Family, svc *corev1.Service, p *corev1.ServicePort, clusterIP netip.Addr) *ServicePort {
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	sp := &ServicePort{
		Name:        PortName{Namespace: svc.Namespace, Name: svc.Name, Port: p.Name, Protocol: proto},
		ClusterIP:   clusterIP,
		Port:        p.Port,
		Protocol:    proto,
		ExternalIPs: parseFamilyIPs(family, svc.Spec.ExternalIPs),
	}
	// A destination once per port: not its own cluster IP again, nor an
	// ingress IP that is also an external IP.
	sp.ExternalIPs = slices.DeleteFunc(sp.ExternalIPs, func(a netip.Addr) bool { return a == clusterIP })
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		sp.NodePort = p.NodePort
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		var lb []string
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy {
				continue
			}
			lb = append(lb, ing.IP)
		}
		sp.LoadBalancerIPs = slices.DeleteFunc(parseFamilyIPs(family, lb), func(a netip.Addr) bool {
			return a == clusterIP || slices.Contains(sp.ExternalIPs, a)
		})
		sp.SourceRanges = sourceRanges(family, svc.Spec.LoadBalancerSourceRanges)
		if svc.Spec.HealthCheckNodePort != 0 {
			sp.HealthCheckNodePort = svc.Spec.HealthCheckNodePort
		}
	}
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		timeout := int32(corev1.DefaultClientIPServiceAffinitySeconds)
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			timeout = *c.ClientIP.TimeoutSeconds
		}
		sp.AffinityTimeout = time.Duration(timeout) * time.Second
	}
	sp.ExternalLocal = svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && sp.HasExternal()
	sp.InternalLocal = svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	return sp
}

// sourceRanges parses loadBalancerSourceRanges as kube-proxy does: padding
// trimmed, other families left out, and a zero-length prefix meaning any source.
func sourceRanges(family Family, in []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range in {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil || !family.has(p.Addr()) {
			continue
		}
		if p.Bits() == 0 {
			return nil
		}
		out = append(out, p.Masked())
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	return slices.Compact(out)
}

// endpointsFor collects the endpoints of sp from the Service's slices: the slice
// port with sp's name and protocol gives the target port. An address listed twice
// (two slices during a move) keeps its most usable state.
func endpointsFor(family Family, sp *ServicePort, epSlices []*discoveryv1.EndpointSlice) []Endpoint {
	byAddr := map[netip.AddrPort]Endpoint{}
	for _, s := range epSlices {
		port, ok := slicePort(s, sp)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			a, err := netip.ParseAddr(e.Addresses[0])
			if err != nil || !family.has(a) {
				continue
			}
			ep := Endpoint{
				Addr:        a,
				Port:        port,
				Ready:       e.Conditions.Ready == nil || *e.Conditions.Ready,
				Terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
			}
			// Serving defaults to Ready when unset, as the API documents.
			ep.Serving = ep.Ready
			if e.Conditions.Serving != nil {
				ep.Serving = *e.Conditions.Serving
			}
			if e.NodeName != nil {
				ep.NodeName = *e.NodeName
			}
			k := ep.AddrPort()
			if old, ok := byAddr[k]; ok && rank(old) >= rank(ep) {
				continue
			}
			byAddr[k] = ep
		}
	}
	out := make([]Endpoint, 0, len(byAddr))
	for _, e := range byAddr {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return a.AddrPort().Compare(b.AddrPort()) })
	return out
}

// rank orders an endpoint's states from least to most usable.
func rank(e Endpoint) int {
	switch {
	case e.Ready:
		return 2
	case e.Serving:
		return 1
	}
	return 0
}

// slicePort finds the target port of sp in slice s.
func slicePort(s *discoveryv1.EndpointSlice, sp *ServicePort) (int32, bool) {
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name == sp.Name.Port && proto == sp.Protocol && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}

// Validate reports a snapshot whose ports are not sorted or repeat a name; a
// backend relies on both.
func (s *Snapshot) Validate() error {
	for i := 1; i < len(s.Ports); i++ {
		if ComparePortNames(s.Ports[i-1].Name, s.Ports[i].Name) >= 0 {
			return fmt.Errorf("validate snapshot: ports %s and %s out of order", s.Ports[i-1].Name, s.Ports[i].Name)
		}
	}
	return nil
}
