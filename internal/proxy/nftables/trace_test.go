package nftables

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/proxy"
)

// traceCase is a packet traced through the fixture and where it must end.
type traceCase struct {
	name     string
	node     string // default node-a
	src, dst string
	proto    corev1.Protocol
	port     int32
	fromNode bool
	want     []string
}

// TestTrace states where the first packet of a connection ends for every
// service shape of the fixture, from a pod on this node, a pod on another node,
// the node itself and a client outside the cluster. The fixture's node-a has the
// addresses 10.250.0.1 (its primary) and 10.244.1.1 (its pod gateway).
func TestTrace(t *testing.T) { runTraceCases(t, traceCases(), false) }

// TestTraceIPv6 traces every case of TestTrace through the IPv6 twin of the
// fixture (an ip6 table), with the cases' addresses mapped the same way: the
// IPv6 data plane serves every shape as the IPv4 one does.
func TestTraceIPv6(t *testing.T) { runTraceCases(t, traceCases(), true) }

func traceCases() []traceCase {
	const (
		localPod   = "10.244.1.50"
		remotePod  = "10.244.2.50"
		nodeIP     = "10.250.0.1"
		outsideCli = "203.0.113.9"
	)
	tcp, udp, sctp := corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP
	return []traceCase{
		{name: "clusterIP from a local pod: either endpoint, source kept", src: localPod, dst: "10.96.0.10", port: 80,
			want: []string{"dnat 10.244.1.2:8080", "dnat 10.244.2.3:8080"}},
		{name: "clusterIP from a pod on another node", src: remotePod, dst: "10.96.0.10", port: 80,
			want: []string{"dnat 10.244.1.2:8080", "dnat 10.244.2.3:8080"}},
		{name: "clusterIP from the node: masqueraded", src: nodeIP, dst: "10.96.0.10", port: 80, fromNode: true,
			want: []string{"dnat 10.244.1.2:8080 masquerade", "dnat 10.244.2.3:8080 masquerade"}},
		{name: "hairpin: an endpoint reaching itself is masqueraded", src: "10.244.1.2", dst: "10.96.0.10", port: 80,
			want: []string{"dnat 10.244.1.2:8080 masquerade", "dnat 10.244.2.3:8080"}},
		{name: "wrong port of a clusterIP", src: localPod, dst: "10.96.0.10", port: 81, want: []string{"accept"}},
		{name: "no endpoints from a pod: rejected", src: localPod, dst: "10.96.0.11", port: 80, want: []string{"reject"}},
		{name: "no endpoints from the node: rejected", src: nodeIP, dst: "10.96.0.11", port: 80, fromNode: true, want: []string{"reject"}},
		{name: "internal Local without a local endpoint: dropped", src: localPod, dst: "10.96.0.15", port: 80, want: []string{"drop"}},
		{name: "internal Local on the endpoint's node", node: "node-b", src: remotePod, dst: "10.96.0.15", port: 80,
			want: []string{"dnat 10.244.2.10:80"}},
		{name: "only a terminating endpoint: used", src: localPod, dst: "10.96.0.16", port: 80, want: []string{"dnat 10.244.1.11:80"}},
		{name: "sctp", proto: sctp, src: localPod, dst: "10.96.0.17", port: 9000, want: []string{"dnat 10.244.1.12:9000"}},
		{name: "udp", proto: udp, src: localPod, dst: "10.96.0.53", port: 53, want: []string{"dnat 10.244.1.5:53"}},
		{name: "udp on the tcp port number", proto: tcp, src: localPod, dst: "10.96.0.53", port: 53, want: []string{"accept"}},
		{name: "node port from outside, endpoint on another node: masqueraded", src: outsideCli, dst: nodeIP, port: 30080,
			want: []string{"dnat 10.244.2.8:80 masquerade"}},
		{name: "node port on the pod gateway address", src: localPod, dst: "10.244.1.1", port: 30080,
			want: []string{"dnat 10.244.2.8:80 masquerade"}},
		{name: "node port from the node itself", src: nodeIP, dst: nodeIP, port: 30080, fromNode: true,
			want: []string{"dnat 10.244.2.8:80 masquerade"}},
		{name: "node port on loopback is not served", src: "127.0.0.1", dst: "127.0.0.1", port: 30080, fromNode: true,
			want: []string{"accept"}},
		{name: "external IP from outside", src: outsideCli, dst: "192.0.2.10", port: 80, want: []string{"dnat 10.244.2.8:80 masquerade"}},
		{name: "external Local, no local endpoint, from outside: dropped", src: outsideCli, dst: "192.0.2.20", port: 80,
			want: []string{"drop"}},
		{name: "external Local node port, no local endpoint: dropped", src: outsideCli, dst: nodeIP, port: 30081, want: []string{"drop"}},
		{name: "external Local from a pod: cluster semantics", src: localPod, dst: "192.0.2.20", port: 80,
			want: []string{"dnat 10.244.2.9:80"}},
		{name: "external Local from the node: cluster semantics, masqueraded", src: nodeIP, dst: nodeIP, port: 30081, fromNode: true,
			want: []string{"dnat 10.244.2.9:80 masquerade"}},
		{name: "external Local node port from a pod elsewhere that gets itself: hairpin masqueraded", src: "10.244.2.9", dst: nodeIP, port: 30081,
			want: []string{"dnat 10.244.2.9:80 masquerade"}},
		{name: "external Local on the endpoint's node: source kept", node: "node-b", src: outsideCli, dst: "192.0.2.20", port: 80,
			want: []string{"dnat 10.244.2.9:80"}},
		{name: "node port without endpoints: rejected", proto: udp, src: outsideCli, dst: nodeIP, port: 30082, want: []string{"reject"}},
		{name: "load balancer with source ranges, from an allowed source", src: "198.51.100.7", dst: "192.0.2.30", port: 443,
			want: []string{"dnat 10.244.2.11:8443 masquerade"}},
		{name: "load balancer with source ranges, from another source: dropped", src: outsideCli, dst: "192.0.2.30", port: 443,
			want: []string{"drop"}},
		{name: "load balancer with source ranges, from a pod outside them: dropped", src: localPod, dst: "192.0.2.30", port: 443,
			want: []string{"drop"}},
		{name: "load balancer with source ranges, from the node (its network is a range)", src: nodeIP, dst: "192.0.2.30", port: 443,
			fromNode: true, want: []string{"dnat 10.244.2.11:8443 masquerade"}},
		{name: "load balancer with source ranges, from its own IP routed back to the node", src: "192.0.2.30", dst: "192.0.2.30", port: 443,
			want: []string{"dnat 10.244.2.11:8443 masquerade"}},
		{name: "source ranges do not guard the node port", src: outsideCli, dst: nodeIP, port: 30083,
			want: []string{"dnat 10.244.2.11:8443 masquerade"}},
		{name: "source ranges do not guard the cluster IP", src: localPod, dst: "10.96.0.19", port: 443,
			want: []string{"dnat 10.244.2.11:8443"}},
		{name: "unrelated traffic", src: localPod, dst: remotePod, port: 80, want: []string{"accept"}},
	}
}

// runTraceCases traces each case through the fixture, or with v6 through its
// IPv6 twin with the case's addresses mapped by to6.
func runTraceCases(t *testing.T, cases []traceCase, v6 bool) {
	local := mustAddrs("10.250.0.1", "10.244.1.1")
	cfg, snap := fixtureConfig(), fixtureSnapshot()
	addr := netip.MustParseAddr
	if v6 {
		local, cfg, snap = addrs6(local), fixtureConfig6(), fixtureSnapshot6()
		addr = func(s string) netip.Addr { return to6(netip.MustParseAddr(s)) }
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg
			if tc.node != "" {
				cfg.NodeName = tc.node
			}
			proto := tc.proto
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			want := tc.want
			if v6 {
				want = outcomes6(want)
			}
			rs := Build(snap, cfg)
			outs := Trace(rs, local, Packet{Src: addr(tc.src), Dst: addr(tc.dst),
				Proto: proto, Dport: tc.port, FromNode: tc.fromNode})
			got := make([]string, len(outs))
			for i, o := range outs {
				got[i] = o.String()
			}
			if !slices.Equal(got, want) {
				t.Errorf("outcomes = %q; want %q", got, want)
				for _, o := range outs {
					t.Logf("%s via %v", o, o.Chains)
				}
			}
		})
	}
}

// TestEvenSpread checks that every endpoint of a port has the same chance: the
// port's pick draws a number below N and the endpoint map holds exactly one
// element per number, each a different endpoint, for 1 to 12 endpoints, for
// ClusterIP and node port traffic.
func TestEvenSpread(t *testing.T) {
	for n := 1; n <= 12; n++ {
		sp := port("default", fmt.Sprintf("spread-%d", n), "", corev1.ProtocolTCP, "10.96.1.1", 80)
		sp.NodePort = 30100
		for i := range n {
			sp.Endpoints = append(sp.Endpoints, ep(fmt.Sprintf("10.244.3.%d", i+1), 8080, "node-b"))
		}
		rs := Build(&proxy.Snapshot{Ports: []*proxy.ServicePort{sp}}, fixtureConfig())
		if err := rs.Validate(); err != nil {
			t.Fatal(err)
		}
		f := rs.flatten()
		for _, tc := range []struct {
			vmap, chain string
			key         Element
		}{
			{mapServiceIPs, fmt.Sprintf("clusterip-%d", n), Element{Addr: sp.ClusterIP, Proto: "TCP", Port: 80}},
			{mapServiceNodePorts, fmt.Sprintf("nodeport-%d", n), Element{Proto: "TCP", Port: 30100}},
		} {
			// The port's key is in the dispatch set of the picker for n.
			vm := f.lookupMap(tc.vmap + "__" + tc.chain)
			if vm == nil || !slices.ContainsFunc(vm.Elements, func(e Element) bool { return e.key(vm.Key) == tc.key.key(vm.Key) }) {
				t.Fatalf("%d endpoints: %s does not send %v to %s", n, tc.vmap, tc.key, tc.chain)
			}
			var pick *DNATMap
			for _, r := range f.chain(tc.chain).Rules {
				if d, ok := r[len(r)-1].(DNATMap); ok && d.Proto == "TCP" {
					pick = &d
				}
			}
			if pick == nil || pick.Mod != uint32(n) {
				t.Fatalf("%d endpoints: chain %s draws %+v; want mod %d", n, tc.chain, pick, n)
			}
			m := f.lookupMap(pick.Map)
			got := map[uint32]netip.AddrPort{}
			seen := map[netip.AddrPort]bool{}
			for _, e := range m.Elements {
				k := e
				k.Index = 0
				if k.key(pick.Key) != tc.key.key(pick.Key) {
					continue
				}
				got[e.Index] = e.To
				seen[e.To] = true
			}
			for idx := range uint32(n) {
				if _, ok := got[idx]; !ok {
					t.Errorf("%d endpoints, %s: no endpoint for draw %d", n, tc.chain, idx)
				}
			}
			if len(got) != n || len(seen) != n {
				t.Errorf("%d endpoints, %s: draws %v; want %d draws to %d different endpoints", n, tc.chain, got, n, n)
			}
		}
	}
}

// outcomes6 maps the endpoints of outcomes ("dnat 10.244.1.2:8080 masquerade")
// by to6, sorted as Trace sorts them.
func outcomes6(outs []string) []string {
	out := make([]string, len(outs))
	for i, o := range outs {
		words := strings.Fields(o)
		for j, w := range words {
			if ap, err := netip.ParseAddrPort(w); err == nil {
				words[j] = netip.AddrPortFrom(to6(ap.Addr()), ap.Port()).String()
			}
		}
		out[i] = strings.Join(words, " ")
	}
	slices.Sort(out)
	return out
}
