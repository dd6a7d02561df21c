package nftables

import (
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
