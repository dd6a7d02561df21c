package dns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Port is a Service or EndpointSlice port as DNS sees it. Proto is lower case
// ("tcp", "udp", "sctp").
type Port struct {
	Name  string
	Proto string
	Port  uint16
}

// Service is what DNS needs of a Service.
type Service struct {
	Namespace, Name string
	// ClusterIPs is empty for headless and ExternalName Services.
	ClusterIPs []netip.Addr
	Headless   bool
	// ExternalName is the CNAME target of an ExternalName Service.
	ExternalName             string
	Ports                    []Port
	PublishNotReadyAddresses bool
}

// Endpoint is one endpoint of an EndpointSlice.
type Endpoint struct {
	Addrs    []netip.Addr
	Hostname string
	// Ready is the slice's ready condition; a missing condition counts as ready.
	Ready bool
}

// Slice is what DNS needs of an EndpointSlice.
type Slice struct {
	Namespace, Name string
	// Service is the kubernetes.io/service-name label.
	Service   string
	Endpoints []Endpoint
	Ports     []Port
}

// Pod is a pod's namespace and addresses, for verified pod records.
type Pod struct {
	Namespace, Name string
	IPs             []netip.Addr
}

// Index is the cluster's DNS data, kept in step with the API by the informers'
// event handlers and read by every query. Records are rebuilt per Service when
// the Service or one of its slices changes; readers see a record whole.
type Index struct {
	zone     []byte // wire form, lower case, e.g. \x07cluster\x05local\x00
	zoneName string // presentation form without the trailing dot
	// zoneLabelCount, nsFQDN (ns.dns.<zone>) and hostmaster (hostmaster.<zone>)
	// are fixed at construction.
	zoneLabelCount int
	nsFQDN         []byte
	hostmaster     []byte

	mu         sync.RWMutex
	namespaces map[string]*namespace
	reverse    map[netip.Addr][]ptrTarget
	pods       map[podKey]int
	podsByKey  map[string]Pod // namespace/name -> pod, to undo a pod's IPs
	// serial is the unix time of the last change, the SOA serial.
	serial atomic.Uint32
}

type namespace struct {
	exists   bool // a Namespace object is there (Services may come first)
	services map[string]*record
	// inputs to the records
	svcObjs map[string]*Service
	slices  map[string]map[string]*Slice // service name -> slice name -> slice
	owner   map[string]string            // slice name -> service name
}

// record is the prepared DNS data of one Service. It is immutable once
// published: an update replaces it whole.
type record struct {
	svc  *Service
	fqdn []byte // <name>.<ns>.svc.<zone>. in wire form
	// externalName is the CNAME target in wire form (nil when the Service is
	// not an ExternalName Service, or names an IP literal).
	externalName []byte
	// endpoints: ready ones (all with publishNotReadyAddresses), by label.
	endpoints []*endpointRec
	byLabel   map[string]*endpointRec
	// addrs are the distinct endpoint addresses, for headless A/AAAA.
	addrs []netip.Addr
}

// endpointRec is one endpoint name of a Service; its full name is label
// followed by the Service's name.
type endpointRec struct {
	label string
	addrs []netip.Addr
	ports []Port
}

// ptrTarget is what a reverse name points to: a Service (ep nil: its
// ClusterIP) or one of its endpoints.
type ptrTarget struct {
	r  *record
	ep *endpointRec
}

type podKey struct {
	ip netip.Addr
	ns string
}

// NewIndex returns an empty index for the cluster domain zone.
func NewIndex(zone string) *Index {
	zone = strings.ToLower(strings.TrimSuffix(zone, "."))
	ix := &Index{
		zone:       wireName(strings.Split(zone, ".")...),
		zoneName:   zone,
		namespaces: map[string]*namespace{},
		reverse:    map[netip.Addr][]ptrTarget{},
		pods:       map[podKey]int{},
		podsByKey:  map[string]Pod{},
	}
	ix.zoneLabelCount = strings.Count(zone, ".") + 1
	ix.nsFQDN = ix.fqdnUnder("ns", "dns")
	ix.hostmaster = ix.fqdnUnder("hostmaster")
	ix.touch()
	return ix
}

func (ix *Index) touch() { ix.serial.Store(uint32(time.Now().Unix())) }

// wireName encodes labels (lower case, each at most 63 bytes) as a wire name.
func wireName(labels ...string) []byte {
	var b []byte
	for _, l := range labels {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// fqdnUnder returns labels followed by the zone, in wire form.
func (ix *Index) fqdnUnder(labels ...string) []byte {
	b := wireName(labels...)
	return append(b[:len(b)-1], ix.zone...)
}

func (ix *Index) ns(name string, create bool) *namespace {
	n := ix.namespaces[name]
	if n == nil && create {
		n = &namespace{services: map[string]*record{}, svcObjs: map[string]*Service{}, slices: map[string]map[string]*Slice{}, owner: map[string]string{}}
		ix.namespaces[name] = n
	}
	return n
}

// dropIfEmpty forgets a namespace entry that holds nothing.
func (ix *Index) dropIfEmpty(name string) {
	if n := ix.namespaces[name]; n != nil && !n.exists && len(n.svcObjs) == 0 && len(n.owner) == 0 {
		delete(ix.namespaces, name)
	}
}

// SetNamespace records that a namespace exists.
func (ix *Index) SetNamespace(name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.ns(name, true).exists = true
}

// DeleteNamespace records that a namespace is gone.
func (ix *Index) DeleteNamespace(name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n := ix.ns(name, false); n != nil {
		n.exists = false
		ix.dropIfEmpty(name)
	}
}

// SetService adds or replaces a Service.
func (ix *Index) SetService(s *Service) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.ns(s.Namespace, true).svcObjs[s.Name] = s
	ix.rebuild(s.Namespace, s.Name)
}

// DeleteService removes a Service.
func (ix *Index) DeleteService(namespace, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n := ix.ns(namespace, false); n != nil {
		delete(n.svcObjs, name)
		ix.rebuild(namespace, name)
		ix.dropIfEmpty(namespace)
	}
}

// SetSlice adds or replaces an EndpointSlice. A slice whose service label
// changed leaves its old Service.
func (ix *Index) SetSlice(sl *Slice) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.setSlice(sl)
	ix.rebuild(sl.Namespace, sl.Service)
}

// setSlice files the slice, rebuilding only a Service it left. Called with mu held.
func (ix *Index) setSlice(sl *Slice) {
	n := ix.ns(sl.Namespace, true)
	if old, ok := n.owner[sl.Name]; ok && old != sl.Service {
		ix.unsetSlice(n, sl.Name, old)
		ix.rebuild(sl.Namespace, old)
	}
	if sl.Service == "" {
		return
	}
	m := n.slices[sl.Service]
	if m == nil {
		m = map[string]*Slice{}
		n.slices[sl.Service] = m
	}
	m[sl.Name] = sl
	n.owner[sl.Name] = sl.Service
}

func (ix *Index) unsetSlice(n *namespace, name, service string) {
	delete(n.owner, name)
	if m := n.slices[service]; m != nil {
		delete(m, name)
		if len(m) == 0 {
			delete(n.slices, service)
		}
	}
}

// DeleteSlice removes an EndpointSlice.
func (ix *Index) DeleteSlice(namespace, name, service string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := ix.ns(namespace, false)
	if n == nil {
		return
	}
	if owner, ok := n.owner[name]; ok {
		service = owner
	}
	ix.unsetSlice(n, name, service)
	ix.rebuild(namespace, service)
	ix.dropIfEmpty(namespace)
}

// ReplaceServices makes the index hold exactly these Services (a relist).
func (ix *Index) ReplaceServices(list []*Service) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	keep := make(map[[2]string]bool, len(list))
	for _, svc := range list {
		keep[[2]string{svc.Namespace, svc.Name}] = true
		ix.ns(svc.Namespace, true).svcObjs[svc.Name] = svc
		ix.rebuild(svc.Namespace, svc.Name)
	}
	for nsName, n := range ix.namespaces {
		for name := range n.svcObjs {
			if !keep[[2]string{nsName, name}] {
				delete(n.svcObjs, name)
				ix.rebuild(nsName, name)
			}
		}
		ix.dropIfEmpty(nsName)
	}
}

// ReplaceSlices makes the index hold exactly these EndpointSlices.
func (ix *Index) ReplaceSlices(list []*Slice) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	touched := map[[2]string]bool{}
	keep := make(map[[2]string]bool, len(list))
	for _, sl := range list {
		keep[[2]string{sl.Namespace, sl.Name}] = true
		if old, ok := ix.ns(sl.Namespace, true).owner[sl.Name]; ok {
			touched[[2]string{sl.Namespace, old}] = true
		}
		ix.setSlice(sl)
		touched[[2]string{sl.Namespace, sl.Service}] = true
	}
	for nsName, n := range ix.namespaces {
		for name, svc := range n.owner {
			if !keep[[2]string{nsName, name}] {
				ix.unsetSlice(n, name, svc)
				touched[[2]string{nsName, svc}] = true
			}
		}
	}
	for k := range touched {
		ix.rebuild(k[0], k[1])
	}
	for nsName := range ix.namespaces {
		ix.dropIfEmpty(nsName)
	}
}

// ReplaceNamespaces makes exactly these namespaces exist.
func (ix *Index) ReplaceNamespaces(names []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	keep := make(map[string]bool, len(names))
	for _, name := range names {
		keep[name] = true
		ix.ns(name, true).exists = true
	}
	for name, n := range ix.namespaces {
		if !keep[name] {
			n.exists = false
			ix.dropIfEmpty(name)
		}
	}
}

// ReplacePods makes the index hold exactly these pods.
func (ix *Index) ReplacePods(pods []Pod) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.pods = make(map[podKey]int, len(pods))
	ix.podsByKey = make(map[string]Pod, len(pods))
	for _, p := range pods {
		ix.setPod(p)
	}
}

// SetPod adds or replaces a pod's addresses.
func (ix *Index) SetPod(p Pod) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.setPod(p)
}

func (ix *Index) setPod(p Pod) {
	key := p.Namespace + "/" + p.Name
	ix.unsetPod(key)
	if len(p.IPs) == 0 {
		return
	}
	ix.podsByKey[key] = p
	for _, ip := range p.IPs {
		ix.pods[podKey{ip, p.Namespace}]++
	}
}

// DeletePod removes a pod.
func (ix *Index) DeletePod(namespace, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.unsetPod(namespace + "/" + name)
}

func (ix *Index) unsetPod(key string) {
	old, ok := ix.podsByKey[key]
	if !ok {
		return
	}
	delete(ix.podsByKey, key)
	for _, ip := range old.IPs {
		k := podKey{ip, old.Namespace}
		if ix.pods[k]--; ix.pods[k] <= 0 {
			delete(ix.pods, k)
		}
	}
}

// rebuild recomputes the record of one Service from its object and slices,
// and its reverse entries. Called with mu held.
func (ix *Index) rebuild(namespace, name string) {
	ix.touch()
	n := ix.ns(namespace, true)
	old := n.services[name]
	if old != nil {
		unlink := func(ip netip.Addr) {
			ix.reverse[ip] = slices.DeleteFunc(ix.reverse[ip], func(t ptrTarget) bool { return t.r == old })
			if len(ix.reverse[ip]) == 0 {
				delete(ix.reverse, ip)
			}
		}
		for _, ip := range old.svc.ClusterIPs {
			unlink(ip)
		}
		for _, e := range old.endpoints {
			for _, ip := range e.addrs {
				unlink(ip)
			}
		}
	}
	svc := n.svcObjs[name]
	if svc == nil {
		delete(n.services, name)
		return
	}
	r := &record{svc: svc, fqdn: ix.fqdnUnder(name, namespace, "svc")}
	if svc.ExternalName != "" {
		if _, err := netip.ParseAddr(svc.ExternalName); err != nil {
			r.externalName = wireName(strings.Split(strings.ToLower(strings.TrimSuffix(svc.ExternalName, ".")), ".")...)
		}
	}
	if svc.ExternalName == "" {
		r.byLabel = map[string]*endpointRec{}
		seen := map[netip.Addr]bool{}
		names := make([]string, 0, len(n.slices[name]))
		for sn := range n.slices[name] {
			names = append(names, sn)
		}
		slices.Sort(names) // a stable order of endpoints across rebuilds
		for _, sn := range names {
			sl := n.slices[name][sn]
			for _, ep := range sl.Endpoints {
				if !ep.Ready && !svc.PublishNotReadyAddresses {
					continue
				}
				for _, ip := range ep.Addrs {
					label := ep.Hostname
					if label == "" {
						label = dashedIP(ip)
					}
					e := r.byLabel[label]
					if e == nil {
						e = &endpointRec{label: label}
						r.byLabel[label] = e
						r.endpoints = append(r.endpoints, e)
					}
					if !slices.Contains(e.addrs, ip) {
						e.addrs = append(e.addrs, ip)
					}
					switch {
					case e.ports == nil:
						e.ports = sl.Ports // shared with the slice, never written
					case !slices.Equal(e.ports, sl.Ports):
						merged := slices.Clone(e.ports)
						for _, p := range sl.Ports {
							if !slices.Contains(merged, p) {
								merged = append(merged, p)
							}
						}
						e.ports = merged
					}
					if !seen[ip] {
						seen[ip] = true
						r.addrs = append(r.addrs, ip)
					}
				}
			}
		}
	}
	for _, ip := range svc.ClusterIPs {
		ix.reverse[ip] = append([]ptrTarget{{r: r}}, ix.reverse[ip]...)
	}
	for _, e := range r.endpoints {
		for _, ip := range e.addrs {
			ix.reverse[ip] = append(ix.reverse[ip], ptrTarget{r: r, ep: e})
		}
	}
	n.services[name] = r
}

// dashedIP is the endpoint label CoreDNS gives an endpoint without a hostname:
// the address with '.' or ':' replaced by '-', and a '0' after a trailing '-'.
func dashedIP(ip netip.Addr) string {
	s := ip.String()
	if ip.Is4() {
		return strings.ReplaceAll(s, ".", "-")
	}
	s = strings.ReplaceAll(s, ":", "-")
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	if strings.HasPrefix(s, "-") {
		s = "0" + s
	}
	return s
}
