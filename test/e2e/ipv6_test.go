package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// The IPv6 single-stack cluster is the IPv4 one of cluster_test.go with IPv6
// addresses (ULA only):
//
//	outside (fd00:10:251::2) ── node-a (fd00:10:251::1, fd00:10:250::1) ── node-b (fd00:10:250::2)
//	                            bridge fd00:10:244:1::1/64                  bridge fd00:10:244:2::1/64
//	                            pods fd00:10:244:1::x                       pods fd00:10:244:2::x
//
// The agents still reach the API server through the relay on 127.0.0.1.

// clusterCIDR6 is the pod network of the IPv6 test cluster.
const clusterCIDR6 = "fd00:10:244::/48"

// serviceCIDR6 is the service range of the IPv6 test cluster's server.
const serviceCIDR6 = "fd00:10:96::/112"

// newCluster6 builds two IPv6 node namespaces and an outside client around
// server s.
func newCluster6(t *testing.T, s *server) *cluster {
	t.Helper()
	netnstest.RequireRoot(t)
	c := &cluster{t: t, s: s}
	for i, name := range []string{"node-a", "node-b"} {
		n := &testNode{name: name, ns: netnstest.New(t, fmt.Sprintf("n%c", 'a'+i)), ip: fmt.Sprintf("fd00:10:250::%d", i+1),
			podNet: fmt.Sprintf("fd00:10:244:%d::", i+1), cluster: c, v6: true}
		n.ns.EnableIPv6(true)
		n.ns.Run("ip", "link", "add", "cbr0", "type", "bridge")
		n.ns.AddAddr("cbr0", n.podNet+"1/64")
		n.ns.Run("ip", "link", "set", "cbr0", "up")
		c.nodes = append(c.nodes, n)
		c.relay(n.ns)
	}
	a, b := c.nodes[0], c.nodes[1]
	netnstest.Link(t, a.ns, "eth0", a.ip+"/64", b.ns, "eth0", b.ip+"/64")
	a.ns.Run("ip", "-6", "route", "add", b.podNet+"/64", "via", b.ip)
	b.ns.Run("ip", "-6", "route", "add", a.podNet+"/64", "via", a.ip)
	c.outside = netnstest.New(t, "out")
	c.outside.EnableIPv6(false)
	netnstest.Link(t, a.ns, "ext0", "fd00:10:251::1/64", c.outside, "eth0", "fd00:10:251::2/64")
	c.outside.Run("ip", "-6", "route", "add", "default", "via", "fd00:10:251::1")
	a.ns.Run("ip", "-6", "route", "add", "default", "via", "fd00:10:251::2")
	b.ns.Run("ip", "-6", "route", "add", "default", "via", a.ip)
	return c
}

// newHost makes a namespace on n's pod network, IPv4 or IPv6 as n is.
func (n *testNode) newHost(name string) *testPod {
	if n.v6 {
		return n.addHost6(name)
	}
	return n.addHost(name)
}

// addHost6 is addHost on an IPv6 node.
func (n *testNode) addHost6(name string) *testPod {
	t := n.cluster.t
	t.Helper()
	n.pods++
	p := &testPod{name: name, ip: fmt.Sprintf("%s%x", n.podNet, 10+n.pods), node: n, ns: netnstest.New(t, "p")}
	p.ns.EnableIPv6(false)
	host := fmt.Sprintf("v%s%d", strings.TrimPrefix(n.name, "node-"), n.pods)
	netnstest.Link(t, n.ns, host, "", p.ns, "eth0", p.ip+"/64")
	n.ns.Run("ip", "link", "set", host, "master", "cbr0")
	n.ns.Run("ip", "link", "set", host, "type", "bridge_slave", "hairpin", "on")
	p.ns.Run("ip", "-6", "route", "add", "default", "via", n.podNet+"1")
	return p
}

// TestDataPlaneIPv6 runs an IPv6 single-stack cluster: a server with an IPv6
// service range, pods with IPv6 addresses, and an agent per node programming
// its ip6 table. It sends real traffic through a ClusterIP, a node port,
// a Service without endpoints and a UDP Service.
func TestDataPlaneIPv6(t *testing.T) {
	netnstest.RequireRoot(t)
	s := startServer(t, "--service-cluster-ip-range", serviceCIDR6, "--node-monitor-grace-period", "5s")
	c := newCluster6(t, s)
	a, b := c.nodes[0], c.nodes[1]
	a.startAgent()
	b.startAgent()
	cs := s.client()
	ctx := context.Background()

	a.addPod("web-a", map[string]string{"app": "web"})
	b.addPod("web-b", map[string]string{"app": "web"})
	client := a.addPod("client", map[string]string{"app": "client"})
	web := createService(t, cs, echoService("web", "web", nil))
	if ip := net.ParseIP(web.Spec.ClusterIP); ip == nil || ip.To4() != nil {
		t.Fatalf("cluster IP %q; want an IPv6 address from %s", web.Spec.ClusterIP, serviceCIDR6)
	}
	webAddr := net.JoinHostPort(web.Spec.ClusterIP, "80")

	t.Run("the agents program ip6 tables only", func(t *testing.T) {
		eventually(t, 10*time.Second, func() error {
			tables := a.ns.Run("nft", "list", "tables")
			if !strings.Contains(tables, "table ip6 svcnet") || strings.Contains(tables, "table ip svcnet") {
				return fmt.Errorf("tables on node-a: %s", tables)
			}
			return nil
		})
	})

	t.Run("clusterIP from a pod reaches endpoints on both nodes", func(t *testing.T) {
		got := reach(t, client.ns, "tcp", webAddr)
		if got.Client != client.ip {
			t.Errorf("%s saw the client as %s; want %s", got.Name, got.Client, client.ip)
		}
		seen := spread(t, client.ns, "tcp", webAddr, 40)
		if seen["web-a"] == 0 || seen["web-b"] == 0 {
			t.Errorf("answers over 40 connections: %v; want both web-a and web-b", seen)
		}
	})

	t.Run("node port on a node without the pod, from outside", func(t *testing.T) {
		nodePortFromOutside(t, cs, c.outside, b)
	})

	t.Run("no endpoints: refused at once, TCP and UDP", func(t *testing.T) {
		empty := createService(t, cs, echoService("empty", "nothing", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP})
		}))
		// A pod of its own: the others' ICMPv6 allowance goes to the
		// redirects of traffic the node routes back into its bridge.
		probe := b.addPod("probe", map[string]string{"app": "probe"})
		for _, tc := range []struct{ network, port string }{{"tcp", "80"}, {"udp", "53"}} {
			addr := net.JoinHostPort(empty.Spec.ClusterIP, tc.port)
			eventually(t, 15*time.Second, func() error {
				start := time.Now()
				_, err := probe.ns.Ask(ctx, tc.network, addr, 2*time.Second)
				if !errors.Is(err, syscall.ECONNREFUSED) {
					return fmt.Errorf("%s %s: %v; want connection refused", tc.network, addr, err)
				}
				if d := time.Since(start); d > 500*time.Millisecond {
					return fmt.Errorf("%s refusal took %v", tc.network, d)
				}
				return nil
			})
		}
	})

	t.Run("udp reaches an endpoint and fails over when it goes away", func(t *testing.T) {
		udpFailsOver(t, cs, client.ns)
	})

	t.Run("cleanup removes the ip6 table", func(t *testing.T) {
		b.stop()
		if out, err := b.ns.Command(ctx, binary, "agent", "--cleanup").CombinedOutput(); err != nil {
			t.Fatalf("agent --cleanup: %v: %s", err, out)
		}
		if tables := b.ns.Run("nft", "list", "tables"); strings.Contains(tables, "svcnet") {
			t.Errorf("tables after cleanup: %s", tables)
		}
	})
}
