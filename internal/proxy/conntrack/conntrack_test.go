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

func TestFilterMatchesOnlyTranslatedUDP(t *testing.T) {
	f := filter{netip.MustParseAddrPort("10.244.1.2:53"): true, netip.MustParseAddrPort("[fd00:10:244:1::2]:53"): true}
	flow := func(proto uint8, dst string, dport uint16, replySrc string, rport uint16) *netlink.ConntrackFlow {
		fl := &netlink.ConntrackFlow{}
		fl.Forward.Protocol, fl.Forward.DstIP, fl.Forward.DstPort = proto, net.ParseIP(dst), dport
		fl.Reverse.SrcIP, fl.Reverse.SrcPort = net.ParseIP(replySrc), rport
		return fl
	}
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
