package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// The cluster in these tests is made of network namespaces this test creates:
//
//	outside (10.250.1.2) ── node-a (10.250.1.1, 10.250.0.1) ── node-b (10.250.0.2)
//	(default routes: node-b via node-a, node-a via outside)
//	                          bridge 10.244.1.1/24             bridge 10.244.2.1/24
//	                          pods 10.244.1.x                  pods 10.244.2.x
//
// Each node runs a real `svcnet agent` inside its namespace; the agents reach the
// API server (on the host's loopback) through a relay the test runs, which
// listens on 127.0.0.1:6443 inside each node namespace. Traffic goes only to
// addresses inside these namespaces.

// clusterCIDR is the pod network of the test cluster.
const clusterCIDR = "10.244.0.0/16"

type testNode struct {
	name    string
	ns      *netnstest.NS
	ip      string // address on the node-to-node link
	podNet  string // e.g. 10.244.1
	agent   *exec.Cmd
	logs    *syncBuffer
	args    []string
	pods    int
	cluster *cluster
	// v6 makes an IPv6 node (see newCluster6): podNet is then an IPv6 /64
	// prefix without its length (fd00:10:244:1::).
	v6 bool
	// ip6 and podNet6 make an IPv4 node dual-stack (see newClusterDual):
	// its IPv6 address on the node-to-node link, and its pods' IPv6 /64 as
	// podNet is for newCluster6.
	ip6, podNet6 string
}

type testPod struct {
	name string
	ip   string
	ip6  string // on a dual-stack node, the pod's IPv6 address
	ns   *netnstest.NS
	node *testNode
}

type cluster struct {
	t       *testing.T
	s       *server
	nodes   []*testNode
	outside *netnstest.NS
}

// newCluster builds two node namespaces and an outside client around server s.
func newCluster(t *testing.T, s *server) *cluster {
	t.Helper()
	return buildCluster(t, s, false)
}

// newClusterDual is newCluster with IPv6 added to every namespace, link and
// pod, with the addresses of newCluster6: a dual-stack cluster, IPv4 first.
func newClusterDual(t *testing.T, s *server) *cluster {
	t.Helper()
	return buildCluster(t, s, true)
}

func buildCluster(t *testing.T, s *server, dual bool) *cluster {
	t.Helper()
	netnstest.RequireRoot(t)
	c := &cluster{t: t, s: s}
	for i, name := range []string{"node-a", "node-b"} {
		n := &testNode{name: name, ns: netnstest.New(t, fmt.Sprintf("n%c", 'a'+i)), ip: fmt.Sprintf("10.250.0.%d", i+1),
			podNet: fmt.Sprintf("10.244.%d", i+1), cluster: c}
		n.ns.Sysctl("net.ipv4.ip_forward", "1")
		if dual {
			// Before any interface exists: a bridge made earlier would run
			// duplicate address detection on its link-local address, and until
			// that ends (1-2 s) the node sends no neighbor solicitation on it,
			// so the first IPv6 packets it forwards to a pod wait.
			n.ns.EnableIPv6(true)
		}
		n.ns.Run("ip", "link", "add", "cbr0", "type", "bridge")
		n.ns.Run("ip", "addr", "add", n.podNet+".1/24", "dev", "cbr0")
		if dual {
			n.ip6, n.podNet6 = fmt.Sprintf("fd00:10:250::%d", i+1), fmt.Sprintf("fd00:10:244:%d::", i+1)
			n.ns.AddAddr("cbr0", n.podNet6+"1/64")
		}
		n.ns.Run("ip", "link", "set", "cbr0", "up")
		c.nodes = append(c.nodes, n)
		c.relay(n.ns)
	}
	a, b := c.nodes[0], c.nodes[1]
	netnstest.Link(t, a.ns, "eth0", a.ip+"/24", b.ns, "eth0", b.ip+"/24")
	a.ns.Run("ip", "route", "add", b.podNet+".0/24", "via", b.ip)
	b.ns.Run("ip", "route", "add", a.podNet+".0/24", "via", a.ip)
	c.outside = netnstest.New(t, "out")
	if dual {
		c.outside.EnableIPv6(false)
	}
	netnstest.Link(t, a.ns, "ext0", "10.250.1.1/24", c.outside, "eth0", "10.250.1.2/24")
	c.outside.Run("ip", "route", "add", "default", "via", "10.250.1.1")
	// Nodes route everything else out of the cluster, as real nodes do: node-a
	// towards the outside network, node-b through node-a.
	a.ns.Run("ip", "route", "add", "default", "via", "10.250.1.2")
	b.ns.Run("ip", "route", "add", "default", "via", a.ip)
	if dual {
		a.ns.AddAddr("eth0", a.ip6+"/64")
		b.ns.AddAddr("eth0", b.ip6+"/64")
		a.ns.Run("ip", "-6", "route", "add", b.podNet6+"/64", "via", b.ip6)
		b.ns.Run("ip", "-6", "route", "add", a.podNet6+"/64", "via", a.ip6)
		a.ns.AddAddr("ext0", "fd00:10:251::1/64")
		c.outside.AddAddr("eth0", "fd00:10:251::2/64")
		c.outside.Run("ip", "-6", "route", "add", "default", "via", "fd00:10:251::1")
		a.ns.Run("ip", "-6", "route", "add", "default", "via", "fd00:10:251::2")
		b.ns.Run("ip", "-6", "route", "add", "default", "via", a.ip6)
	}
	return c
}

// relay forwards TCP connections to 127.0.0.1:6443 inside ns to the API server
// on the host's loopback.
func (c *cluster) relay(ns *netnstest.NS) {
	t := c.t
	l, err := ns.Listen("tcp", "127.0.0.1:6443")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer in.Close()
				out, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.s.port), 5*time.Second)
				if err != nil {
					return
				}
				defer out.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				<-done
			})
		}
	})
}

// startAgent joins n with a token of its own and waits until its Node is Ready.
func (n *testNode) startAgent(extra ...string) {
	t := n.cluster.t
	t.Helper()
	s := n.cluster.s
	r := s.run(binary, []string{"token", "create", n.name, "--data-dir", s.dataDir}, "")
	if r.code != 0 {
		t.Fatalf("token create: %s", r.stderr)
	}
	podCIDR, cidr, nodeIP := n.podNet+".0/24", clusterCIDR, n.ip
	switch {
	case n.v6:
		podCIDR, cidr = n.podNet+"/64", clusterCIDR6
	case n.ip6 != "":
		cidr, nodeIP = clusterCIDR+","+clusterCIDR6, n.ip+","+n.ip6
		podCIDR += "," + n.podNet6 + "/64"
	}
	n.args = append([]string{"agent", "--server", "https://127.0.0.1:6443", "--token", strings.TrimSpace(r.stdout),
		"--certificate-authority", filepath.Join(s.dataDir, "pki", "ca.crt"),
		"--node-name", n.name, "--node-ip", nodeIP, "--pod-cidr", podCIDR, "--cluster-cidr", cidr,
		"--sync-period", "5s", "--node-lease-duration", "4s", "--log-level", "debug",
		// No upstream resolvers unless a test gives some: nothing leaves the test's namespaces.
		"--resolv-conf", "/dev/null"}, extra...)
	n.launch()
	t.Cleanup(func() {
		n.stop()
		_ = n.ns.Command(context.Background(), binary, "agent", "--cleanup").Run()
	})
	cs := s.client()
	eventually(t, 20*time.Second, func() error {
		node, err := cs.CoreV1().Nodes().Get(context.Background(), n.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s not ready: %+v", n.name, node.Status.Conditions)
	})
}

func (n *testNode) launch() {
	t := n.cluster.t
	cmd := n.ns.Command(context.Background(), append([]string{binary}, n.args...)...)
	n.logs = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent on %s: %v", n.name, err)
	}
	n.agent = cmd
}

// stop ends the agent (SIGTERM, then SIGKILL) and prints its logs on failure.
func (n *testNode) stop() {
	if n.agent == nil {
		return
	}
	stopGroup(n.agent, 10*time.Second)
	n.agent = nil
	if n.cluster.t.Failed() {
		n.cluster.t.Logf("agent %s logs:\n%s", n.name, n.logs.String())
	}
}

// addPod makes a pod namespace on n with echo servers on TCP and UDP 8080 (the
// container port named "http"), and registers it in the default namespace.
func (n *testNode) addPod(name string, labels map[string]string) *testPod {
	n.cluster.t.Helper()
	return n.addPodIn("default", name, labels, 8080)
}

// addPodIn makes a pod namespace on n with TCP and UDP echo servers on ports, and
// registers it through the API in namespace ns as Running and Ready with its real
// address.
func (n *testNode) addPodIn(ns, name string, labels map[string]string, ports ...int) *testPod {
	t := n.cluster.t
	t.Helper()
	p := n.newHost(name)
	var containerPorts []corev1.ContainerPort
	for i, port := range ports {
		p.serve(port)
		cp := corev1.ContainerPort{ContainerPort: int32(port)}
		if i == 0 {
			cp.Name = "http"
		}
		containerPorts = append(containerPorts, cp)
	}
	cs := n.cluster.s.client()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{NodeName: n.name, Containers: []corev1.Container{{
			Name: "echo", Image: "svcnet-echo", Ports: containerPorts}}},
	}
	created, err := cs.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.ip, PodIPs: []corev1.PodIP{{IP: p.ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if p.ip6 != "" {
		created.Status.PodIPs = append(created.Status.PodIPs, corev1.PodIP{IP: p.ip6})
	}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// addHost makes a namespace on n's pod network (a pod no API object describes).
func (n *testNode) addHost(name string) *testPod {
	t := n.cluster.t
	t.Helper()
	n.pods++
	p := &testPod{name: name, ip: fmt.Sprintf("%s.%d", n.podNet, 10+n.pods), node: n, ns: netnstest.New(t, "p")}
	if n.podNet6 != "" {
		p.ip6 = fmt.Sprintf("%s%x", n.podNet6, 10+n.pods)
		p.ns.EnableIPv6(false)
	}
	host := fmt.Sprintf("v%s%d", strings.TrimPrefix(n.name, "node-"), n.pods)
	netnstest.Link(t, n.ns, host, "", p.ns, "eth0", p.ip+"/24")
	if p.ip6 != "" {
		p.ns.AddAddr("eth0", p.ip6+"/64")
		p.ns.Run("ip", "-6", "route", "add", "default", "via", n.podNet6+"1")
	}
	n.ns.Run("ip", "link", "set", host, "master", "cbr0")
	// As the bridge CNI plugin does: with br_netfilter on, a pod reaching itself
	// through a Service is bridged back out of the port it came in on.
	n.ns.Run("ip", "link", "set", host, "type", "bridge_slave", "hairpin", "on")
	p.ns.Run("ip", "route", "add", "default", "via", n.podNet+".1")
	return p
}

// serve runs TCP and UDP echo servers of the pod on port.
func (p *testPod) serve(port int) {
	t := p.node.cluster.t
	t.Helper()
	addr := fmt.Sprintf(":%d", port)
	l, err := p.ns.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go netnstest.ServeEcho(l, p.name)
	u, err := p.ns.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	go netnstest.ServeEchoUDP(u, p.name)
}
