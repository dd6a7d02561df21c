// Package conntrack removes connection-tracking entries that would keep UDP
// clients talking to an endpoint that is gone. A UDP "connection" lives in
// conntrack for as long as packets keep coming, so without this a client that
// sends a query every few seconds (a DNS resolver) sticks to a dead pod forever
// (kubernetes#125467).
//
// [Stale] is a pure function from the old and new snapshots to the endpoints
// whose entries must go; [Cleaner] deletes them over netlink in the current
// network namespace. [Untranslated] likewise names the UDP service addresses
// and node ports that have just become translated, whose entries without NAT
// (left by packets sent before there were rules for them) must go too. It deliberately leaves TCP alone (a TCP connection to a
// dead pod fails on its own) and deletes only entries that were translated to
// the endpoint, never one addressed to it directly.
package conntrack

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/proxy"
)

// Stale returns the UDP (and SCTP-less) endpoints present in old but no longer
// usable for the same service port in cur, on node.
func Stale(old, cur *proxy.Snapshot, node string) []netip.AddrPort {
	if old == nil {
		return nil
	}
	usable := map[proxy.PortName]map[netip.AddrPort]bool{}
	if cur != nil {
		for _, sp := range cur.Ports {
			if sp.Protocol != corev1.ProtocolUDP {
				continue
			}
			m := map[netip.AddrPort]bool{}
			for _, e := range sp.ClusterEndpoints(node) {
				m[e.AddrPort()] = true
			}
			for _, e := range sp.ExternalEndpoints(node) {
				m[e.AddrPort()] = true
			}
			usable[sp.Name] = m
		}
	}
	seen := map[netip.AddrPort]bool{}
	var out []netip.AddrPort
	for _, sp := range old.Ports {
		if sp.Protocol != corev1.ProtocolUDP {
			continue
		}
		for _, e := range append(sp.ClusterEndpoints(node), sp.ExternalEndpoints(node)...) {
			ap := e.AddrPort()
			if usable[sp.Name][ap] || seen[ap] {
				continue
			}
			seen[ap] = true
			out = append(out, ap)
		}
	}
	return out
}

// filter matches UDP flows whose reply comes from one of the endpoints while
// the original packet was addressed elsewhere (it was DNATed).
type filter map[netip.AddrPort]bool

func (f filter) MatchConntrackFlow(flow *netlink.ConntrackFlow) bool {
	orig, reply, ok := udpEnds(flow)
	return ok && f[reply] && orig != reply
}

// udpEnds returns where a UDP flow's first packet went and where its replies
// come from; ok is false for other protocols.
func udpEnds(flow *netlink.ConntrackFlow) (orig, reply netip.AddrPort, ok bool) {
	if flow.Forward.Protocol != 17 {
		return orig, reply, false
	}
	src, ok1 := netip.AddrFromSlice(flow.Reverse.SrcIP)
	dst, ok2 := netip.AddrFromSlice(flow.Forward.DstIP)
	if !ok1 || !ok2 {
		return orig, reply, false
	}
	return netip.AddrPortFrom(dst.Unmap(), flow.Forward.DstPort), netip.AddrPortFrom(src.Unmap(), flow.Reverse.SrcPort), true
}

var _ netlink.CustomConntrackFilter = filter(nil)

// Cleaner deletes conntrack entries in the network namespace it runs in.
type Cleaner struct{}

// Delete removes the UDP entries translated to any of eps (IPv4 and IPv6
// endpoints alike: the kernel keeps a table per family) and returns how many
// went.
func (Cleaner) Delete(eps []netip.AddrPort) (int, error) {
	v4, v6 := filter{}, filter{}
	for _, e := range eps {
		if e.Addr().Unmap().Is4() {
			v4[e] = true
		} else {
			v6[e] = true
		}
	}
	total := 0
	for _, fam := range []struct {
		f      filter
		family netlink.InetFamily
	}{{v4, netlink.FAMILY_V4}, {v6, netlink.FAMILY_V6}} {
		if len(fam.f) == 0 {
			continue
		}
		n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, fam.family, fam.f)
		total += int(n)
		if err != nil {
			return total, fmt.Errorf("delete stale udp conntrack entries: %w", err)
		}
	}
	return total, nil
}

// Untranslated returns the UDP service addresses (cluster, external and load
// balancer IPs, with the port) and node ports that translate to an endpoint in
// cur but did not in old (all of them when old is nil: the agent has just
// started). A UDP packet sent to such an address before it translated (before
// the agent programmed the Service, or while the agent was down) left a
// conntrack entry without NAT, and a client that keeps sending from the same
// socket keeps following that entry past the endpoint the Service now has; the
// entries must go for its next packet to be translated. Packets to a port
// without endpoints are refused before their entry is confirmed, so only
// addresses that had no rules at all leave such entries.
func Untranslated(old, cur *proxy.Snapshot, node string) (addrs []netip.AddrPort, nodePorts []uint16) {
	type key struct {
		ap       netip.AddrPort
		nodePort uint16
	}
	keys := func(snap *proxy.Snapshot, f func(key)) {
		if snap == nil {
			return
		}
		for _, sp := range snap.Ports {
			if sp.Protocol != corev1.ProtocolUDP {
				continue
			}
			port := uint16(sp.Port)
			cluster := len(sp.ClusterEndpoints(node)) > 0
			if cluster {
				f(key{ap: netip.AddrPortFrom(sp.ClusterIP, port)})
			}
			if !cluster && len(sp.ExternalEndpoints(node)) == 0 {
				continue
			}
			for _, a := range slices.Concat(sp.ExternalIPs, sp.LoadBalancerIPs) {
				f(key{ap: netip.AddrPortFrom(a, port)})
			}
			if sp.NodePort != 0 {
				f(key{nodePort: uint16(sp.NodePort)})
			}
		}
	}
	had := map[key]bool{}
	keys(old, func(k key) { had[k] = true })
	keys(cur, func(k key) {
		if had[k] {
			return
		}
		had[k] = true
		if k.nodePort != 0 {
			nodePorts = append(nodePorts, k.nodePort)
		} else if k.ap.Addr().IsValid() {
			addrs = append(addrs, k.ap)
		}
	})
	return addrs, nodePorts
}

// untranslated matches UDP flows that were not translated (the reply comes
// from where the original packet went) to one of the addresses or, on any
// address, to one of the node ports.
type untranslated struct {
	addrs map[netip.AddrPort]bool
	ports map[uint16]bool
}

func (f untranslated) MatchConntrackFlow(flow *netlink.ConntrackFlow) bool {
	orig, reply, ok := udpEnds(flow)
	return ok && orig == reply && (f.addrs[orig] || f.ports[orig.Port()])
}

var _ netlink.CustomConntrackFilter = untranslated{}

// DeleteUntranslated removes the UDP entries of family that went to addrs or
// to nodePorts without translation (see [Untranslated]) and returns how many
// went. The kernel keeps a table per family: a plane deletes in its own.
func (Cleaner) DeleteUntranslated(family proxy.Family, addrs []netip.AddrPort, nodePorts []uint16) (int, error) {
	if len(addrs) == 0 && len(nodePorts) == 0 {
		return 0, nil
	}
	f := untranslated{addrs: map[netip.AddrPort]bool{}, ports: map[uint16]bool{}}
	for _, a := range addrs {
		f.addrs[netip.AddrPortFrom(a.Addr().Unmap(), a.Port())] = true
	}
	for _, p := range nodePorts {
		f.ports[p] = true
	}
	nf := netlink.InetFamily(netlink.FAMILY_V4)
	if family == proxy.IPv6 {
		nf = netlink.FAMILY_V6
	}
	n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, nf, f)
	if err != nil {
		return int(n), fmt.Errorf("delete untranslated udp conntrack entries: %w", err)
	}
	return int(n), nil
}
