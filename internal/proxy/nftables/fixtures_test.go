package nftables

import (
	"encoding/binary"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/proxy"
)

// Addresses in these fixtures are only data for rule generation and tracing;
// kernel tests use them inside network namespaces they create.

func ep(addr string, port int32, node string) proxy.Endpoint {
	return proxy.Endpoint{Addr: netip.MustParseAddr(addr), Port: port, Ready: true, Serving: true, NodeName: node}
}

func terminating(e proxy.Endpoint) proxy.Endpoint {
	e.Ready, e.Terminating = false, true
	return e
}

func port(ns, name, portName string, proto corev1.Protocol, ip string, p int32, eps ...proxy.Endpoint) *proxy.ServicePort {
	return &proxy.ServicePort{
		Name:      proxy.PortName{Namespace: ns, Name: name, Port: portName, Protocol: proto},
		ClusterIP: netip.MustParseAddr(ip), Port: p, Protocol: proto, Endpoints: eps,
	}
}

// fixtureSnapshot has one service port of every shape the builder knows.
func fixtureSnapshot() *proxy.Snapshot {
	web := port("default", "web", "http", corev1.ProtocolTCP, "10.96.0.10", 80,
		ep("10.244.1.2", 8080, "node-a"), ep("10.244.2.3", 8080, "node-b"))
	dns := port("kube-system", "kube-dns", "dns", corev1.ProtocolUDP, "10.96.0.53", 53, ep("10.244.1.5", 53, "node-a"))
	empty := port("default", "empty", "", corev1.ProtocolTCP, "10.96.0.11", 80)
	sticky := port("default", "sticky", "", corev1.ProtocolTCP, "10.96.0.12", 80,
		ep("10.244.1.7", 80, "node-a"), ep("10.244.2.7", 80, "node-b"))
	sticky.AffinityTimeout = 10800 * time.Second
	np := port("default", "np", "", corev1.ProtocolTCP, "10.96.0.13", 80, ep("10.244.2.8", 80, "node-b"))
	np.NodePort = 30080
	np.ExternalIPs = []netip.Addr{netip.MustParseAddr("192.0.2.10")}
	local := port("default", "local", "", corev1.ProtocolTCP, "10.96.0.14", 80, ep("10.244.2.9", 80, "node-b"))
	local.NodePort = 30081
	local.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("192.0.2.20")}
	local.ExternalLocal = true
	itp := port("default", "itp", "", corev1.ProtocolTCP, "10.96.0.15", 80, ep("10.244.2.10", 80, "node-b"))
	itp.InternalLocal = true
	term := port("default", "term", "", corev1.ProtocolTCP, "10.96.0.16", 80, terminating(ep("10.244.1.11", 80, "node-a")))
	sctp := port("default", "sctp", "", corev1.ProtocolSCTP, "10.96.0.17", 9000, ep("10.244.1.12", 9000, "node-a"))
	noEpNodePort := port("default", "np-empty", "", corev1.ProtocolUDP, "10.96.0.18", 5000)
	noEpNodePort.NodePort = 30082
	// A load balancer that only some sources may reach: 198.51.100.0/24, and
	// the node network, which holds the node's address.
	fw := port("default", "fw", "", corev1.ProtocolTCP, "10.96.0.19", 443, ep("10.244.2.11", 8443, "node-b"))
	fw.NodePort = 30083
	fw.LoadBalancerIPs = mustAddrs("192.0.2.30")
	fw.SourceRanges = []netip.Prefix{netip.MustParsePrefix("10.250.0.0/24"), netip.MustParsePrefix("198.51.100.0/24")}
	return &proxy.Snapshot{Ports: []*proxy.ServicePort{empty, fw, itp, local, np, noEpNodePort, sctp, sticky, term, web, dns}}
}

func fixtureConfig() Config {
	return Config{NodeName: "node-a", ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		NodeIPs: mustAddrs("10.250.0.1")}
}

func mustAddrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// The IPv6 fixture is the IPv4 one with every address mapped by to6: each
// IPv4 network of the fixture has an IPv6 network (ULA and documentation
// addresses), and an address keeps its host bits. A /n IPv4 prefix becomes a
// /96+n one, so every test case of the IPv4 fixture has an IPv6 twin.
var v6Networks = []struct{ v4, v6 netip.Prefix }{
	{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:10:96::/112")},
	{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/112")},
	{netip.MustParsePrefix("10.250.0.0/16"), netip.MustParsePrefix("fd00:10:250::/112")},
	{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/120")},
	{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/120")},
	{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:2::/120")},
	{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::/104")},
}

// to6 maps an IPv4 address of the fixture to its IPv6 twin.
func to6(a netip.Addr) netip.Addr {
	for _, n := range v6Networks {
		if n.v4.Contains(a) {
			v4, v6 := a.As4(), n.v6.Addr().As16()
			host := binary.BigEndian.Uint32(v4[:]) & (1<<(32-n.v4.Bits()) - 1)
			binary.BigEndian.PutUint32(v6[12:], binary.BigEndian.Uint32(v6[12:])|host)
			return netip.AddrFrom16(v6)
		}
	}
	panic("to6: no IPv6 twin for " + a.String())
}

func prefix6(p netip.Prefix) netip.Prefix { return netip.PrefixFrom(to6(p.Addr()), 96+p.Bits()) }

func addrs6(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = to6(a)
	}
	return out
}

// snapshot6 is snap with every address mapped by to6.
func snapshot6(snap *proxy.Snapshot) *proxy.Snapshot {
	out := &proxy.Snapshot{}
	for _, sp := range snap.Ports {
		c := *sp
		c.ClusterIP = to6(sp.ClusterIP)
		c.ExternalIPs, c.LoadBalancerIPs = addrs6(sp.ExternalIPs), addrs6(sp.LoadBalancerIPs)
		c.SourceRanges = nil
		for _, r := range sp.SourceRanges {
			c.SourceRanges = append(c.SourceRanges, prefix6(r))
		}
		c.Endpoints = nil
		for _, e := range sp.Endpoints {
			e.Addr = to6(e.Addr)
			c.Endpoints = append(c.Endpoints, e)
		}
		out.Ports = append(out.Ports, &c)
	}
	return out
}

// config6 is cfg for IPv6, its addresses mapped by to6.
func config6(cfg Config) Config {
	cfg.Family = proxy.IPv6
	var cidrs []netip.Prefix
	for _, c := range cfg.ClusterCIDRs {
		cidrs = append(cidrs, prefix6(c))
	}
	cfg.ClusterCIDRs = cidrs
	cfg.NodeIPs, cfg.NodePortAddresses = addrs6(cfg.NodeIPs), addrs6(cfg.NodePortAddresses)
	if len(cfg.NodeIPs) == 0 {
		cfg.NodeIPs = nil
	}
	if len(cfg.NodePortAddresses) == 0 {
		cfg.NodePortAddresses = nil
	}
	return cfg
}

func fixtureSnapshot6() *proxy.Snapshot { return snapshot6(fixtureSnapshot()) }
func fixtureConfig6() Config            { return config6(fixtureConfig()) }
