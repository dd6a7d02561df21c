package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// ns is one network namespace this program created.
type ns struct{ name string }

// cleanups runs registered undo steps in reverse order, once.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(f func()) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNS creates a namespace with loopback up; c deletes it.
func newNS(c *cleanups, name string) (*ns, error) {
	if err := sh("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	c.add(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	n := &ns{name: name}
	return n, n.run("ip", "link", "set", "lo", "up")
}

func (n *ns) run(args ...string) error {
	return sh(append([]string{"ip", "netns", "exec", n.name}, args...)...)
}

func (n *ns) command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.name}, args...)...)
}

// link joins a and b with a veth pair (ifA in a, ifB in b), sets the given
// addresses (CIDR form, "" for none) and brings both ends up.
func link(a *ns, ifA, addrA string, b *ns, ifB, addrB string) error {
	tag := fmt.Sprintf("dp%d%s", os.Getpid()%100000, ifA)
	tmpA, tmpB := tag+"a", tag+"b"
	steps := [][]string{
		{"ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB},
		{"ip", "link", "set", tmpA, "netns", a.name},
		{"ip", "link", "set", tmpB, "netns", b.name},
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		n        *ns
		tmp, dev string
		addr     string
	}{{a, tmpA, ifA, addrA}, {b, tmpB, ifB, addrB}} {
		if err := s.n.run("ip", "link", "set", s.tmp, "name", s.dev); err != nil {
			return err
		}
		if s.addr != "" {
			if err := s.n.run("ip", "addr", "add", s.addr, "dev", s.dev); err != nil {
				return err
			}
		}
		if err := s.n.run("ip", "link", "set", s.dev, "up"); err != nil {
			return err
		}
	}
	return nil
}

// do runs f on an OS thread switched into n. Sockets f opens stay in n. The
// thread stays locked and so dies with the goroutine: Go never reuses it.
func (n *ns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(n.name)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", n.name, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", n.name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

func (n *ns) listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.do(func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	return l, err
}

func (n *ns) dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp4", addr)
		return err
	})
	return c, err
}

// relay forwards connections to addr inside n to target on the host's loopback,
// until c runs.
func relay(c *cleanups, n *ns, addr, target string) error {
	l, err := n.listen(addr)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	c.add(func() { l.Close(); wg.Wait() })
	conns := make(map[net.Conn]struct{})
	var mu sync.Mutex
	track := func(cs ...net.Conn) {
		mu.Lock()
		for _, x := range cs {
			conns[x] = struct{}{}
		}
		mu.Unlock()
	}
	c.add(func() {
		mu.Lock()
		for x := range conns {
			x.Close()
		}
		mu.Unlock()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer in.Close()
				out, err := net.DialTimeout("tcp", target, 5*time.Second)
				if err != nil {
					return
				}
				defer out.Close()
				track(in, out)
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return nil
}

// serveAccept accepts and at once closes every connection on l: for the probe,
// a completed handshake is the answer.
func serveAccept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// topology is the node, its backend and client pods, and the relay.
type topology struct {
	node, backend, client *ns
}

const (
	nodeIP     = "10.244.1.1"
	backendIP  = "10.244.1.10"
	clientIP   = "10.244.1.20"
	podCIDR    = "10.244.1.0/24"
	cluster    = "10.244.0.0/16"
	probePort  = 8080
	relayAddr  = "127.0.0.1:6443"
	nodeName   = "bench-node"
	nftTable   = "svcnet"
	nsPrefix   = "dpp"
	backendDev = "vb"
	clientDev  = "vc"
)

// buildTopology makes the namespaces: a node with bridge cbr0 (nodeIP/24) and
// two pods on it, and the API relay inside the node.
func buildTopology(c *cleanups, apiAddr string) (*topology, error) {
	tag := fmt.Sprintf("%s%d", nsPrefix, os.Getpid()%100000)
	t := &topology{}
	var err error
	if t.node, err = newNS(c, tag+"-node"); err != nil {
		return nil, err
	}
	if t.backend, err = newNS(c, tag+"-be"); err != nil {
		return nil, err
	}
	if t.client, err = newNS(c, tag+"-cl"); err != nil {
		return nil, err
	}
	for _, s := range [][]string{
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"ip", "link", "add", "cbr0", "type", "bridge"},
		{"ip", "addr", "add", nodeIP + "/24", "dev", "cbr0"},
		{"ip", "link", "set", "cbr0", "up"},
		// A node has a default route; without one, a packet to a ClusterIP
		// with no endpoint fails routing before the no-endpoint reject rule
		// sees it. The route leads into a veth pair with both ends in the
		// node, where nothing answers.
		{"ip", "link", "add", "ext0", "type", "veth", "peer", "name", "ext1"},
		{"ip", "addr", "add", "10.250.0.1/24", "dev", "ext0"},
		{"ip", "link", "set", "ext0", "up"},
		{"ip", "link", "set", "ext1", "up"},
		{"ip", "route", "add", "default", "via", "10.250.0.254"},
	} {
		if err := t.node.run(s...); err != nil {
			return nil, err
		}
	}
	// br_netfilter, where the kernel has it per namespace, must see bridged
	// traffic so that replies from a pod to a pod on the same bridge are
	// un-DNATed; as on a Kubernetes node with the bridge CNI plugin.
	_ = t.node.run("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
	for _, p := range []struct {
		n       *ns
		dev, ip string
	}{{t.backend, backendDev, backendIP}, {t.client, clientDev, clientIP}} {
		if err := link(t.node, p.dev, "", p.n, "eth0", p.ip+"/24"); err != nil {
			return nil, err
		}
		if err := t.node.run("ip", "link", "set", p.dev, "master", "cbr0"); err != nil {
			return nil, err
		}
		if err := p.n.run("ip", "route", "add", "default", "via", nodeIP); err != nil {
			return nil, err
		}
	}
	// The client makes many short connections: a wide port range and reuse of
	// TIME_WAIT ports keep it from running out.
	_ = t.client.run("sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535")
	_ = t.client.run("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1")
	if err := relay(c, t.node, relayAddr, apiAddr); err != nil {
		return nil, err
	}
	return t, nil
}
