// Package netnstest builds small networks of Linux network namespaces for tests:
// a namespace per node or pod, veth pairs between them, addresses and routes, and
// sockets opened inside a namespace. Everything it creates is removed by the
// test's Cleanup.
//
// It is for tests only, needs root (tests skip with a clear message otherwise),
// and creates nothing in the caller's own namespace except the namespace mounts
// under /var/run/netns. It deliberately does not model bridges or more than the
// point-to-point links the tests use.
package netnstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netns"
)

var count atomic.Int32

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create network namespaces and program nftables")
	}
}

// NS is one network namespace.
type NS struct {
	Name string
	t    testing.TB
}

// New creates a namespace with loopback up; it is deleted at the test's end.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	RequireRoot(t)
	name := fmt.Sprintf("sn%s%d-%d", prefix, os.Getpid()%100000, count.Add(1))
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ns := &NS{Name: name, t: t}
	ns.Run("ip", "link", "set", "lo", "up")
	return ns
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Run runs a command inside the namespace and fails the test if it fails.
func (n *NS) Run(args ...string) string {
	n.t.Helper()
	return run(n.t, append([]string{"ip", "netns", "exec", n.Name}, args...)...)
}

// Command returns a command that runs inside the namespace.
func (n *NS) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name}, args...)...)
}

// Sysctl sets a sysctl inside the namespace.
func (n *NS) Sysctl(key, value string) { n.Run("sysctl", "-qw", key+"="+value) }

// EnableIPv6 turns IPv6 on in the namespace (in case the host's defaults turn
// it off) and, with forward, makes it route IPv6 between its interfaces. Call
// it before links are made: their addresses, link-local ones too, then skip
// duplicate address detection, which would hold them back for a second.
func (n *NS) EnableIPv6(forward bool) {
	n.Sysctl("net.ipv6.conf.all.disable_ipv6", "0")
	n.Sysctl("net.ipv6.conf.default.disable_ipv6", "0")
	n.Sysctl("net.ipv6.conf.all.accept_dad", "0")
	n.Sysctl("net.ipv6.conf.default.accept_dad", "0")
	if forward {
		n.Sysctl("net.ipv6.conf.all.forwarding", "1")
	}
}

// AddAddr adds addr (CIDR form) to interface dev of the namespace; an IPv6
// address is usable at once (nodad: no duplicate address detection delay).
func (n *NS) AddAddr(dev, addr string) {
	n.t.Helper()
	args := []string{"ip", "addr", "add", addr, "dev", dev}
	if strings.Contains(addr, ":") {
		args = append(args, "nodad")
	}
	n.Run(args...)
}

// Link connects a and b with a veth pair: aIf in a with aAddr (CIDR form), bIf
// in b with bAddr. Both ends are up. IPv6 addresses are added with nodad (the
// namespaces need IPv6 enabled: [NS.EnableIPv6]).
func Link(t testing.TB, a *NS, aIf, aAddr string, b *NS, bIf, bAddr string) {
	t.Helper()
	// Made inside a with its peer straight in b: nothing ever exists in the
	// caller's namespace, even if the test stops half-way.
	run(t, "ip", "-n", a.Name, "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.Name)
	if aAddr != "" {
		a.AddAddr(aIf, aAddr)
	}
	if bAddr != "" {
		b.AddAddr(bIf, bAddr)
	}
	a.Run("ip", "link", "set", aIf, "up")
	b.Run("ip", "link", "set", bIf, "up")
}

// Do runs f on an OS thread switched into the namespace. Sockets that f opens
// stay in the namespace after it returns.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is left locked and so dies with the goroutine: it is never
		// reused in the wrong namespace.
		runtime.LockOSThread()
		target, err := netns.GetFromName(n.Name)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", n.Name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen opens a listener inside the namespace.
func (n *NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() (err error) { l, err = net.Listen(network, addr); return err })
	return l, err
}

// ListenPacket opens a packet socket inside the namespace.
func (n *NS) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() (err error) { c, err = net.ListenPacket(network, addr); return err })
	return c, err
}

// Dial connects from inside the namespace with d.
func (n *NS) Dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) { c, err = d.DialContext(ctx, network, addr); return err })
	return c, err
}

// FD opens the namespace's handle, for APIs that take a namespace file
// descriptor; it is closed at the test's end.
func (n *NS) FD() int {
	n.t.Helper()
	f, err := os.Open("/var/run/netns/" + n.Name)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}
