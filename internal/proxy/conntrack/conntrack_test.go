package conntrack

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/proxy"
)

func udpPort(name string, eps ...proxy.Endpoint) *proxy.ServicePort {
	return &proxy.ServicePort{Name: proxy.PortName{Namespace: "ns", Name: name}, Protocol: corev1.ProtocolUDP, Endpoints: eps}
}

func endpoint(addr string, ready bool) proxy.Endpoint {
	return proxy.Endpoint{Addr: netip.MustParseAddr(addr), Port: 53, Ready: ready, Serving: ready}
}

func TestStale(t *testing.T) {
	a, b := endpoint("10.244.1.2", true), endpoint("10.244.2.2", true)
	tcp := udpPort("web", a)
	tcp.Protocol = corev1.ProtocolTCP
	tests := []struct {
		name     string
		old, cur *proxy.Snapshot
		want     []string
	}{
		{name: "first sync", old: nil, cur: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", a)}}},
		{name: "endpoint removed", old: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", a, b)}},
			cur: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", b)}}, want: []string{"10.244.1.2:53"}},
		{name: "endpoint turned unready", old: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", a, b)}},
			cur: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", endpoint("10.244.1.2", false), b)}}, want: []string{"10.244.1.2:53"}},
		{name: "service deleted", old: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", a)}},
			cur: &proxy.Snapshot{}, want: []string{"10.244.1.2:53"}},
		{name: "tcp endpoints are left alone", old: &proxy.Snapshot{Ports: []*proxy.ServicePort{tcp}}, cur: &proxy.Snapshot{}},
		{name: "nothing changed", old: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", a)}},
			cur: &proxy.Snapshot{Ports: []*proxy.ServicePort{udpPort("dns", a)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ap := range Stale(tc.old, tc.cur, "node-a") {
				got = append(got, ap.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stale = %v; want %v", got, tc.want)
			}
		})
	}
}

// flow is a conntrack flow whose first packet went to dst:dport and whose
// replies come from replySrc:rport.
func flow(proto uint8, dst string, dport uint16, replySrc string, rport uint16) *netlink.ConntrackFlow {
	fl := &netlink.ConntrackFlow{}
	fl.Forward.Protocol, fl.Forward.DstIP, fl.Forward.DstPort = proto, net.ParseIP(dst), dport
	fl.Reverse.SrcIP, fl.Reverse.SrcPort = net.ParseIP(replySrc), rport
	return fl
}

func TestFilterMatchesOnlyTranslatedUDP(t *testing.T) {
	f := filter{netip.MustParseAddrPort("10.244.1.2:53"): true, netip.MustParseAddrPort("[fd00:10:244:1::2]:53"): true}
	tests := []struct {
		name string
		flow *netlink.ConntrackFlow
		want bool
	}{
		{name: "udp to a service, translated to the endpoint", flow: flow(17, "10.96.0.10", 53, "10.244.1.2", 53), want: true},
		{name: "udp straight to the endpoint", flow: flow(17, "10.244.1.2", 53, "10.244.1.2", 53)},
		{name: "tcp translated to the endpoint", flow: flow(6, "10.96.0.10", 53, "10.244.1.2", 53)},
		{name: "another endpoint", flow: flow(17, "10.96.0.10", 53, "10.244.2.2", 53)},
		{name: "udp over IPv6, translated to the endpoint", flow: flow(17, "fd00:10:96::a", 53, "fd00:10:244:1::2", 53), want: true},
		{name: "udp over IPv6 straight to the endpoint", flow: flow(17, "fd00:10:244:1::2", 53, "fd00:10:244:1::2", 53)},
		{name: "another IPv6 endpoint", flow: flow(17, "fd00:10:96::a", 53, "fd00:10:244:2::2", 53)},
	}
	for _, tc := range tests {
		if got := f.MatchConntrackFlow(tc.flow); got != tc.want {
			t.Errorf("%s: match = %t; want %t", tc.name, got, tc.want)
		}
	}
}

func TestUntranslated(t *testing.T) {
	a := endpoint("10.244.1.2", true)
	svc := func(eps ...proxy.Endpoint) *proxy.ServicePort {
		sp := udpPort("dns", eps...)
		sp.ClusterIP, sp.Port = netip.MustParseAddr("10.96.0.10"), 53
		sp.ExternalIPs = []netip.Addr{netip.MustParseAddr("192.0.2.10")}
		sp.NodePort = 30053
		return sp
	}
	tcp := svc(a)
	tcp.Protocol = corev1.ProtocolTCP
	local := svc(a) // externalTrafficPolicy Local, no endpoint on this node
	local.ExternalLocal = true
	local.Endpoints[0].NodeName = "node-b"
	snap := func(ports ...*proxy.ServicePort) *proxy.Snapshot { return &proxy.Snapshot{Ports: ports} }
	tests := []struct {
		name      string
		old, cur  *proxy.Snapshot
		addrs     []string
		nodePorts []uint16
	}{
		{name: "first sync", old: nil, cur: snap(svc(a)), addrs: []string{"10.96.0.10:53", "192.0.2.10:53"}, nodePorts: []uint16{30053}},
		{name: "new service", old: snap(), cur: snap(svc(a)), addrs: []string{"10.96.0.10:53", "192.0.2.10:53"}, nodePorts: []uint16{30053}},
		{name: "first endpoint", old: snap(svc()), cur: snap(svc(a)), addrs: []string{"10.96.0.10:53", "192.0.2.10:53"}, nodePorts: []uint16{30053}},
		{name: "no endpoint yet", old: snap(), cur: snap(svc())},
		{name: "already translated", old: snap(svc(a)), cur: snap(svc(endpoint("10.244.2.2", true)))},
		{name: "tcp is left alone", old: nil, cur: snap(tcp)},
		{name: "external addresses of a Local port keep the cluster's endpoints for pods", old: snap(), cur: snap(local),
			addrs: []string{"10.96.0.10:53", "192.0.2.10:53"}, nodePorts: []uint16{30053}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addrs, ports := Untranslated(tc.old, tc.cur, "node-a")
			var got []string
			for _, ap := range addrs {
				got = append(got, ap.String())
			}
			if !slices.Equal(got, tc.addrs) || !slices.Equal(ports, tc.nodePorts) {
				t.Errorf("untranslated = %v, %v; want %v, %v", got, ports, tc.addrs, tc.nodePorts)
			}
		})
	}
}

func TestUntranslatedFilterMatchesOnlyUntranslatedUDP(t *testing.T) {
	f := untranslated{
		addrs: map[netip.AddrPort]bool{netip.MustParseAddrPort("10.96.0.10:53"): true, netip.MustParseAddrPort("[fd00:10:96::a]:53"): true},
		ports: map[uint16]bool{30053: true},
	}
	tests := []struct {
		name string
		flow *netlink.ConntrackFlow
		want bool
	}{
		{name: "udp to the service address, untranslated", flow: flow(17, "10.96.0.10", 53, "10.96.0.10", 53), want: true},
		{name: "udp to the service address, translated", flow: flow(17, "10.96.0.10", 53, "10.244.1.2", 53)},
		{name: "another port of the address", flow: flow(17, "10.96.0.10", 54, "10.96.0.10", 54)},
		{name: "tcp, untranslated", flow: flow(6, "10.96.0.10", 53, "10.96.0.10", 53)},
		{name: "udp over IPv6, untranslated", flow: flow(17, "fd00:10:96::a", 53, "fd00:10:96::a", 53), want: true},
		{name: "node port on a node address, untranslated", flow: flow(17, "10.250.0.1", 30053, "10.250.0.1", 30053), want: true},
		{name: "node port, translated", flow: flow(17, "10.250.0.1", 30053, "10.244.1.2", 53)},
	}
	for _, tc := range tests {
		if got := f.MatchConntrackFlow(tc.flow); got != tc.want {
			t.Errorf("%s: match = %t; want %t", tc.name, got, tc.want)
		}
	}
}
