package dns

import (
	"net/netip"
	"slices"
	"strings"
)

// outcome says what the authoritative lookup decided.
type outcome int

const (
	found    outcome = iota // records written to the answer section
	noData                  // the name exists, not with this type
	nxDomain                // the name does not exist
	notOurs                 // outside the data this server holds: forward it
)

// PodRecords is how a.b.c.d.<ns>.pod.<zone> names are answered.
type PodRecords string

const (
	// PodsDisabled answers NXDOMAIN for every pod name.
	PodsDisabled PodRecords = "disabled"
	// PodsInsecure answers any well-formed address in an existing namespace.
	PodsInsecure PodRecords = "insecure"
	// PodsVerified answers only addresses of pods in that namespace.
	PodsVerified PodRecords = "verified"
)

// DNSSchemaVersion is the version of the Kubernetes DNS specification served
// at dns-version.<zone>.
const DNSSchemaVersion = "1.1.0"

const versionTTL = 28800

var (
	labelSvc     = []byte("svc")
	labelPod     = []byte("pod")
	reverseV4    = wireName("in-addr", "arpa")
	reverseV6    = wireName("ip6", "arpa")
	kubeSystem   = "kube-system"
	kubeDNSName  = "kube-dns"
	dnsVersionLb = []byte("dns-version")
)

// lookup answers q from the index into w when q is in the cluster zone or a
// reverse zone. It holds the index's read lock; w has the header and question
// written. extra receives an ExternalName target the caller may chase.
func (ix *Index) lookup(w *writer, q *query, ttl uint32, pods PodRecords) (out outcome, zoneOwner []byte, chase []byte) {
	labels := q.labels
	nl := len(labels)
	zl := ix.zoneLabelCount
	if nl >= zl && string(q.tail(nl-zl)) == string(ix.zone) {
		ix.mu.RLock()
		out, chase = ix.cluster(w, q, ttl, pods, labels[:nl-zl])
		ix.mu.RUnlock()
		return out, ix.zone, chase
	}
	if nl >= 2 {
		suffix := q.tail(nl - 2)
		switch {
		case string(suffix) == string(reverseV4):
			ip, ok := reverseAddr(labels[:nl-2], false)
			if !ok {
				return notOurs, nil, nil
			}
			ix.mu.RLock()
			out = ix.ptr(w, q, ttl, ip)
			ix.mu.RUnlock()
			return out, reverseV4, nil
		case string(suffix) == string(reverseV6):
			ip, ok := reverseAddr(labels[:nl-2], true)
			if !ok {
				return notOurs, nil, nil
			}
			ix.mu.RLock()
			out = ix.ptr(w, q, ttl, ip)
			ix.mu.RUnlock()
			return out, reverseV6, nil
		}
	}
	return notOurs, nil, nil
}

func (ix *Index) cluster(w *writer, q *query, ttl uint32, pods PodRecords, labels [][]byte) (outcome, []byte) {
	n := len(labels)
	if n == 0 {
		switch q.qtype {
		case typeSOA:
			ix.writeSOA(w, secAnswer, ix.zone, ttl)
			return found, nil
		case typeNS:
			ns := ix.nsName()
			w.nameRR(secAnswer, nil, typeNS, ttl, ns)
			for _, ip := range ix.kubeDNSAddrs() {
				w.addr(secAdditional, ns, ttl, ip.AsSlice())
			}
			return found, nil
		}
		return noData, nil
	}
	last := labels[n-1]
	switch {
	case n == 1 && string(last) == string(dnsVersionLb):
		if q.qtype == typeTXT {
			w.txt(versionTTL, DNSSchemaVersion)
			return found, nil
		}
		return noData, nil
	case n == 2 && string(last) == "dns" && string(labels[0]) == "ns":
		return ix.addrAnswer(w, q, ttl, ix.kubeDNSAddrs()), nil
	case string(last) == string(labelSvc):
		return ix.service(w, q, ttl, labels[:n-1])
	case string(last) == string(labelPod):
		return ix.pod(w, q, ttl, pods, labels[:n-1]), nil
	}
	return nxDomain, nil
}

// service answers names under svc.<zone>; labels are left of "svc".
func (ix *Index) service(w *writer, q *query, ttl uint32, labels [][]byte) (outcome, []byte) {
	n := len(labels)
	if n == 0 {
		return noData, nil
	}
	ns := ix.namespaces[string(labels[n-1])]
	if n == 1 {
		if ns != nil && ns.exists {
			return noData, nil
		}
		return nxDomain, nil
	}
	if ns == nil || n > 4 {
		return nxDomain, nil
	}
	r := ns.services[string(labels[n-2])]
	if r == nil {
		return nxDomain, nil
	}
	switch n {
	case 2:
		return ix.serviceName(w, q, ttl, r)
	case 3:
		if len(labels[0]) > 0 && labels[0][0] == '_' {
			return nxDomain, nil
		}
		e := r.byLabel[string(labels[0])]
		if e == nil {
			return nxDomain, nil
		}
		return ix.addrAnswer(w, q, ttl, e.addrs), nil
	default: // _port._proto.<service>
		port, proto := labels[0], labels[1]
		if len(port) < 2 || port[0] != '_' || len(proto) < 2 || proto[0] != '_' || r.externalName != nil || r.svc.ExternalName != "" {
			return nxDomain, nil
		}
		return ix.srv(w, q, ttl, r, string(port[1:]), string(proto[1:])), nil
	}
}

// serviceName answers <service>.<ns>.svc.<zone>.
func (ix *Index) serviceName(w *writer, q *query, ttl uint32, r *record) (outcome, []byte) {
	if r.svc.ExternalName != "" {
		if r.externalName == nil {
			return nxDomain, nil // an IP literal makes no record
		}
		w.nameRR(secAnswer, nil, typeCNAME, ttl, r.externalName)
		if q.qtype == typeA || q.qtype == typeAAAA || q.qtype == typeANY {
			return found, r.externalName
		}
		return found, nil
	}
	if r.svc.Headless {
		if len(r.addrs) == 0 {
			return nxDomain, nil // the specification: no ready endpoints, no name
		}
		if q.qtype == typeSRV {
			return ix.srv(w, q, ttl, r, "", ""), nil
		}
		return ix.addrAnswer(w, q, ttl, r.addrs), nil
	}
	if q.qtype == typeSRV {
		return ix.srv(w, q, ttl, r, "", ""), nil
	}
	return ix.addrAnswer(w, q, ttl, r.svc.ClusterIPs), nil
}

// addrAnswer writes the addresses of q's family (A or AAAA; both for ANY).
func (ix *Index) addrAnswer(w *writer, q *query, ttl uint32, addrs []netip.Addr) outcome {
	var want4, want6 bool
	switch q.qtype {
	case typeA:
		want4 = true
	case typeAAAA:
		want6 = true
	case typeANY:
		want4, want6 = true, true
	default:
		return noData
	}
	out := noData
	for _, ip := range addrs {
		if ip.Is4() && want4 {
			b := ip.As4()
			w.addr(secAnswer, nil, ttl, b[:])
			out = found
		} else if ip.Is6() && want6 {
			b := ip.As16()
			w.addr(secAnswer, nil, ttl, b[:])
			out = found
		}
	}
	return out
}

// srv answers the SRV name of a port (any port when port is empty). Weights
// split 100 evenly, as CoreDNS does.
func (ix *Index) srv(w *writer, q *query, ttl uint32, r *record, port, proto string) outcome {
	match := func(p Port) bool { return port == "" || (p.Name == port && p.Proto == proto) }
	type target struct {
		label string // "" for the Service itself
		port  uint16
		addrs []netip.Addr
	}
	var buf [16]target
	targets := buf[:0]
	if r.svc.Headless {
		for _, e := range r.endpoints {
			for _, p := range e.ports {
				if match(p) && (port != "" || p.Port != 0) {
					targets = append(targets, target{e.label, p.Port, e.addrs})
				}
			}
		}
	} else {
		for _, p := range r.svc.Ports {
			if match(p) {
				targets = append(targets, target{"", p.Port, r.svc.ClusterIPs})
			}
		}
	}
	if len(targets) == 0 {
		if port == "" {
			return noData // the Service exists
		}
		return nxDomain
	}
	if q.qtype != typeSRV {
		return noData
	}
	weight := uint16(100 / len(targets))
	if weight == 0 {
		weight = 1
	}
	for _, t := range targets {
		w.srv(ttl, 0, weight, t.port, t.label, r.fqdn)
	}
	var done [16]string
	written := done[:0]
	for _, t := range targets {
		if slices.Contains(written, t.label) {
			continue
		}
		written = append(written, t.label)
		for _, ip := range t.addrs {
			w.addrUnder(secAdditional, t.label, r.fqdn, ttl, ip.AsSlice())
		}
	}
	return found
}

// pod answers names under pod.<zone>; labels are left of "pod".
func (ix *Index) pod(w *writer, q *query, ttl uint32, mode PodRecords, labels [][]byte) outcome {
	n := len(labels)
	if n == 0 {
		return noData
	}
	ns := ix.namespaces[string(labels[n-1])]
	exists := ns != nil && ns.exists
	if n == 1 {
		if exists {
			return noData
		}
		return nxDomain
	}
	if n > 2 || !exists || mode == PodsDisabled || mode == "" {
		return nxDomain
	}
	ip, ok := parseDashed(string(labels[0]))
	if !ok {
		return nxDomain
	}
	if mode == PodsVerified && ix.pods[podKey{ip, string(labels[1])}] == 0 {
		return nxDomain
	}
	return ix.addrAnswer(w, q, ttl, []netip.Addr{ip})
}

// parseDashed reads a pod label: a-b-c-d for IPv4 (exactly three dashes, none
// doubled), otherwise an IPv6 address with ':' written as '-'.
func parseDashed(s string) (netip.Addr, bool) {
	if strings.Count(s, "-") == 3 && !strings.Contains(s, "--") {
		ip, err := netip.ParseAddr(strings.ReplaceAll(s, "-", "."))
		return ip, err == nil && ip.Is4()
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(s, "-", ":"))
	return ip, err == nil && ip.Is6() && !ip.Is4In6()
}

// ptr answers a reverse name: the Service of a ClusterIP, else every
// per-endpoint name of an endpoint address.
func (ix *Index) ptr(w *writer, q *query, ttl uint32, ip netip.Addr) outcome {
	targets := ix.reverse[ip]
	if len(targets) == 0 {
		return notOurs
	}
	if q.qtype != typePTR {
		return noData
	}
	clusterIP := targets[0].ep == nil
	for _, t := range targets {
		if clusterIP && t.ep != nil {
			break
		}
		label := ""
		if t.ep != nil {
			label = t.ep.label
		}
		w.qnamePtr()
		at := w.rrHeader(typePTR, ttl)
		w.nameUnder(label, t.r.fqdn)
		w.rrEnd(at, secAnswer)
	}
	return found
}

// reverseAddr reads the address of a reverse name's labels (left of
// in-addr.arpa or ip6.arpa). Only complete addresses count.
func reverseAddr(labels [][]byte, v6 bool) (netip.Addr, bool) {
	if !v6 {
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, l := range labels {
			v := 0
			if len(l) == 0 || len(l) > 3 || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			for _, c := range l {
				if c < '0' || c > '9' {
					return netip.Addr{}, false
				}
				v = v*10 + int(c-'0')
			}
			if v > 255 {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	}
	if len(labels) != 32 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i, l := range labels {
		if len(l) != 1 {
			return netip.Addr{}, false
		}
		var v byte
		switch c := l[0]; {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		default:
			return netip.Addr{}, false
		}
		pos := 31 - i // nibble index from the left of the address
		if pos%2 == 0 {
			b[pos/2] |= v << 4
		} else {
			b[pos/2] |= v
		}
	}
	return netip.AddrFrom16(b), true
}

// nsName is the name of the zone's name server, ns.dns.<zone>.
func (ix *Index) nsName() []byte { return ix.nsFQDN }

// kubeDNSAddrs are the ClusterIPs of kube-system/kube-dns. Called with mu held.
func (ix *Index) kubeDNSAddrs() []netip.Addr {
	if ns := ix.namespaces[kubeSystem]; ns != nil {
		if r := ns.services[kubeDNSName]; r != nil {
			return r.svc.ClusterIPs
		}
	}
	return nil
}

// writeSOA writes the synthetic SOA of zone, with the negative-caching time
// set to ttl.
func (ix *Index) writeSOA(w *writer, section int, zone []byte, ttl uint32) {
	soaTTL := ttl
	if soaTTL > 300 {
		soaTTL = 300
	}
	w.soa(section, zone, soaTTL, ix.nsFQDN, ix.hostmaster, ix.serial.Load(), ttl)
}

// localTarget returns the addresses of a CNAME target that is a Service name
// in the cluster zone (<svc>.<ns>.svc.<zone>), and whether it is one.
func (ix *Index) localTarget(target []byte) ([]netip.Addr, bool) {
	var labels []string
	for i := 0; i < len(target) && target[i] != 0; i += 1 + int(target[i]) {
		labels = append(labels, string(target[i+1:i+1+int(target[i])]))
	}
	n := len(labels) - ix.zoneLabelCount
	if n < 0 || strings.Join(labels[n:], ".") != ix.zoneName {
		return nil, false
	}
	if n != 3 || labels[2] != "svc" {
		return nil, true // in the zone, but not a Service name: nothing to add
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ns := ix.namespaces[labels[1]]
	if ns == nil {
		return nil, true
	}
	r := ns.services[labels[0]]
	switch {
	case r == nil || r.svc.ExternalName != "":
		return nil, true
	case r.svc.Headless:
		return r.addrs, true
	}
	return r.svc.ClusterIPs, true
}
