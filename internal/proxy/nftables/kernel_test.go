package nftables

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	nft "github.com/google/nftables"
	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/internal/proxy"
)

// nftList returns `nft list table ip T` inside the namespace.
func nftList(t *testing.T, ns *netnstest.NS, table string) string {
	t.Helper()
	return nftListFamily(t, ns, proxy.IPv4, table)
}

// nftListFamily returns `nft list table ip T` (ip6 T for IPv6) inside the namespace.
func nftListFamily(t *testing.T, ns *netnstest.NS, family proxy.Family, table string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.Name, "nft", "list", "table", ipKeyword(family), table).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table: %v: %s", err, out)
	}
	return string(out)
}

// normalized makes an nft listing comparable across creation orders: each
// top-level block becomes its header plus sorted lines, map elements one a line.
func normalized(listing string) string {
	var blocks []string
	var cur []string
	header := ""
	for _, line := range strings.Split(listing, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "table "):
		case strings.HasPrefix(line, "chain ") || strings.HasPrefix(line, "map ") || strings.HasPrefix(line, "set "):
			header = line
		case line == "}":
			if header != "" {
				slices.Sort(cur)
				blocks = append(blocks, header+"\n  "+strings.Join(cur, "\n  "))
			}
			header, cur = "", nil
		default:
			line = strings.TrimPrefix(line, "elements = { ")
			line = strings.TrimSuffix(line, " }")
			for _, part := range strings.Split(line, ",") {
				if part = strings.TrimSpace(part); part != "" {
					cur = append(cur, part)
				}
			}
		}
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "\n")
}

// pickerChainName matches the header of a shared picker chain's block.
var pickerChainName = regexp.MustCompile(`^chain [a-z-]+-[0-9]+ \{$`)

// sameTable compares two normalized listings, allowing an incrementally synced
// table (got) picker chains that want lacks: an incremental sync leaves them
// in place, unreferenced, until the next full sync (Chain.Linger).
func sameTable(got, want string) bool {
	keep := func(listing string) map[string]bool {
		m := map[string]bool{}
		for _, b := range blocks(listing) {
			m[b] = true
		}
		return m
	}
	w := keep(want)
	var kept []string
	for _, b := range blocks(got) {
		header, _, _ := strings.Cut(b, "\n")
		if !w[b] && pickerChainName.MatchString(header) && !hasHeader(want, header) {
			continue
		}
		kept = append(kept, b)
	}
	return strings.Join(kept, "\n") == want
}

// blocks splits a normalized listing into its blocks (a header line, then
// lines indented by two spaces).
func blocks(listing string) []string {
	var out []string
	for _, line := range strings.Split(listing, "\n") {
		if strings.HasPrefix(line, "  ") && len(out) > 0 {
			out[len(out)-1] += "\n" + line
			continue
		}
		out = append(out, line)
	}
	return out
}

func hasHeader(listing, header string) bool {
	for _, b := range blocks(listing) {
		if h, _, _ := strings.Cut(b, "\n"); h == header {
			return true
		}
	}
	return false
}

func newProxier(t *testing.T, ns *netnstest.NS) *Proxier {
	t.Helper()
	return newProxierFamily(t, ns, proxy.IPv4)
}

func newProxierFamily(t *testing.T, ns *netnstest.NS, family proxy.Family) *Proxier {
	t.Helper()
	p, err := NewProxier("svcnet", family, ns.FD())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestIncrementalSyncMatchesFullSync applies a sequence of snapshots to one
// namespace incrementally and to another with full syncs, and expects the kernel
// to hold the same table in both after every step, for the fixture in an ip
// table and for its IPv6 twin in an ip6 table.
func TestIncrementalSyncMatchesFullSync(t *testing.T) {
	for _, family := range []proxy.Family{proxy.IPv4, proxy.IPv6} {
		t.Run(fmt.Sprintf("IPv%d", family), func(t *testing.T) { incrementalMatchesFull(t, family) })
	}
}

func incrementalMatchesFull(t *testing.T, family proxy.Family) {
	inc, full := netnstest.New(t, "inc"), netnstest.New(t, "full")
	pInc := newProxierFamily(t, inc, family)
	cfg := fixtureConfig()
	// The steps change the IPv4 fixture; the IPv6 side programs its twin.
	build := func(s *proxy.Snapshot) *Ruleset { return Build(s, cfg) }
	if family == proxy.IPv6 {
		cfg = fixtureConfig6()
		build = func(s *proxy.Snapshot) *Ruleset { return Build(snapshot6(s), cfg) }
	}

	steps := []struct {
		name   string
		change func(s *proxy.Snapshot)
	}{
		{name: "initial", change: func(*proxy.Snapshot) {}},
		{name: "endpoint removed", change: func(s *proxy.Snapshot) { s.Ports[9].Endpoints = s.Ports[9].Endpoints[:1] }},
		{name: "service removed", change: func(s *proxy.Snapshot) { s.Ports = slices.Delete(s.Ports, 6, 7) }},
		{name: "endpoint added to empty", change: func(s *proxy.Snapshot) {
			s.Ports[0].Endpoints = []proxy.Endpoint{ep("10.244.1.20", 80, "node-a")}
		}},
		{name: "affinity off, node port moved", change: func(s *proxy.Snapshot) {
			for _, sp := range s.Ports {
				sp.AffinityTimeout = 0
				if sp.NodePort != 0 {
					sp.NodePort++
				}
			}
		}},
		{name: "endpoint counts grow, an address moves between ports", change: func(s *proxy.Snapshot) {
			s.Ports[0].Endpoints = append(s.Ports[0].Endpoints, ep("10.244.1.21", 80, "node-a"), ep("10.244.1.5", 80, "node-b"))
			s.Ports[1].Endpoints = []proxy.Endpoint{ep("10.244.1.20", 81, "node-a")}
		}},
		{name: "external Local gets a local endpoint", change: func(s *proxy.Snapshot) {
			s.Ports[2].Endpoints = append(s.Ports[2].Endpoints, ep("10.244.1.30", 80, "node-a"))
		}},
		{name: "everything gone", change: func(s *proxy.Snapshot) { s.Ports = nil }},
		{name: "back again", change: func(s *proxy.Snapshot) { *s = *fixtureSnapshot() }},
	}
	snap := fixtureSnapshot()
	for i, step := range steps {
		step.change(snap)
		rs := build(snap)
		st, err := pInc.Sync(rs, false)
		if err != nil {
			t.Fatalf("%s: incremental sync: %v", step.name, err)
		}
		if i > 0 && st.Full {
			t.Errorf("%s: sync was full; want incremental", step.name)
		}
		// A fresh proxier each step, so the full side never diffs.
		pFull := newProxierFamily(t, full, family)
		if _, err := pFull.Sync(rs, true); err != nil {
			t.Fatalf("%s: full sync: %v", step.name, err)
		}
		got, want := normalized(nftListFamily(t, inc, family, "svcnet")), normalized(nftListFamily(t, full, family, "svcnet"))
		if !sameTable(got, want) {
			t.Fatalf("%s: incremental table differs from full:\n--- incremental\n%s\n--- full\n%s", step.name, got, want)
		}
	}
}

// TestFullSyncRepairs removes a chain's rules and a map element behind the
// proxier's back and expects a full sync to restore them and delete a stray chain.
func TestFullSyncRepairs(t *testing.T) {
	ns := netnstest.New(t, "rep")
	p := newProxier(t, ns)
	rs := Build(fixtureSnapshot(), fixtureConfig())
	if _, err := p.Sync(rs, false); err != nil {
		t.Fatal(err)
	}
	want := normalized(nftList(t, ns, "svcnet"))
	ns.Run("nft", "flush", "chain", "ip", "svcnet", "clusterip-2")
	ns.Run("nft", "delete", "element", "ip", "svcnet", "service-endpoints", "{ 10.96.0.53 . udp . 53 . 0 }")
	ns.Run("nft", "delete", "element", "ip", "svcnet", "service-ips__clusterip-2", "{ 10.96.0.10 . tcp . 80 }")
	ns.Run("nft", "add", "chain", "ip", "svcnet", "stray")
	if got := normalized(nftList(t, ns, "svcnet")); got == want {
		t.Fatal("tampering changed nothing")
	}
	st, err := p.Sync(rs, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := normalized(nftList(t, ns, "svcnet")); got != want {
		t.Errorf("after repair:\n%s\nwant:\n%s", got, want)
	}
	if st.ChainsDeleted != 1 {
		t.Errorf("chains deleted = %d; want 1 (the stray one)", st.ChainsDeleted)
	}
	if err := p.Cleanup(); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "exec", ns.Name, "nft", "list", "tables").CombinedOutput()
	if strings.Contains(string(out), "svcnet") {
		t.Errorf("after cleanup: %s", out)
	}
}

// TestUnchangedFollowsTheGeneration checks that a proxier tells its table is as
// its last sync left it exactly while nobody else commits to nftables in its
// namespace, counting the commits of the proxier it shares generations with
// (the other family's table) as its own.
func TestUnchangedFollowsTheGeneration(t *testing.T) {
	ns := netnstest.New(t, "gen")
	p4, p6 := newProxierFamily(t, ns, proxy.IPv4), newProxierFamily(t, ns, proxy.IPv6)
	p6.ShareGenerations(p4)
	rs4, rs6 := Build(fixtureSnapshot(), fixtureConfig()), Build(snapshot6(fixtureSnapshot()), fixtureConfig6())
	if p4.Unchanged() {
		t.Fatal("Unchanged before any sync")
	}
	mustSync := func(p *Proxier, rs *Ruleset, full bool) {
		t.Helper()
		if _, err := p.Sync(rs, full); err != nil {
			t.Fatal(err)
		}
	}
	mustSync(p4, rs4, false)
	mustSync(p6, rs6, false)
	steps := []struct {
		name  string
		do    func()
		want4 bool
		want6 bool
	}{
		{name: "after both tables' first syncs", do: func() {}, want4: true, want6: true},
		{name: "an incremental sync of the other family", do: func() {
			mustSync(p6, Build(snapshot6(fixtureSnapshot()), fixtureConfig6()), false)
		}, want4: true, want6: true},
		{name: "a read of the ruleset", do: func() { ns.Run("nft", "list", "ruleset") }, want4: true, want6: true},
		{name: "another program's table", do: func() { ns.Run("nft", "add", "table", "inet", "other") }, want4: false, want6: false},
		{name: "incremental syncs do not make it whole again", do: func() {
			mustSync(p4, rs4, false)
			mustSync(p6, rs6, false)
		}, want4: false, want6: false},
		{name: "full syncs do", do: func() {
			mustSync(p4, rs4, true)
			mustSync(p6, rs6, true)
		}, want4: true, want6: true},
		{name: "a chain flushed behind the agent's back", do: func() { ns.Run("nft", "flush", "chain", "ip", "svcnet", "clusterip-2") }, want4: false, want6: false},
		{name: "repaired by the full sync of its table", do: func() { mustSync(p4, rs4, true) }, want4: true, want6: false},
	}
	for _, st := range steps {
		st.do()
		if got4, got6 := p4.Unchanged(), p6.Unchanged(); got4 != st.want4 || got6 != st.want6 {
			t.Errorf("%s: Unchanged() = ip %t, ip6 %t; want %t, %t", st.name, got4, got6, st.want4, st.want6)
		}
	}
	if err := p4.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if p4.Unchanged() {
		t.Error("Unchanged after cleanup")
	}
}

// ask connects from ns to addr and returns the answer's two words.
func ask(ctx context.Context, ns *netnstest.NS, network, addr string) (name, client string, err error) {
	a, err := ns.Ask(ctx, network, addr, 2*time.Second)
	return a.Name, a.Client, err
}

// trafficNet are the addresses of TestTraffic's namespaces in one family.
type trafficNet struct {
	family proxy.Family
	// gw1, pod1, gw2, pod2: the pod links (node side, pod side); uplink and
	// outside: the node's link to a client outside the cluster.
	gw1, pod1, gw2, pod2, uplink, outside string
	bits                                  string // prefix length of every link
	pods                                  string // the cluster CIDR
	web, empty, dns, emptyUDP             string // cluster IPs
}

var trafficNets = []trafficNet{
	{family: proxy.IPv4, gw1: "10.244.1.1", pod1: "10.244.1.2", gw2: "10.244.2.1", pod2: "10.244.2.2",
		uplink: "10.250.0.1", outside: "10.250.0.2", bits: "24", pods: "10.244.0.0/16",
		web: "10.96.0.10", empty: "10.96.0.11", dns: "10.96.0.53", emptyUDP: "10.96.0.54"},
	{family: proxy.IPv6, gw1: "fd00:10:244:1::1", pod1: "fd00:10:244:1::2", gw2: "fd00:10:244:2::1", pod2: "fd00:10:244:2::2",
		uplink: "fd00:10:250::1", outside: "fd00:10:250::2", bits: "64", pods: "fd00:10:244::/48",
		web: "fd00:10:96::a", empty: "fd00:10:96::b", dns: "fd00:10:96::35", emptyUDP: "fd00:10:96::36"},
}

// TestTraffic programs a node namespace with two pod namespaces behind it and
// sends real TCP and UDP traffic through ClusterIPs and a node port, over
// IPv4 (table ip) and over IPv6 (table ip6).
func TestTraffic(t *testing.T) {
	for _, n := range trafficNets {
		t.Run(fmt.Sprintf("IPv%d", n.family), func(t *testing.T) { traffic(t, n) })
	}
}

func traffic(t *testing.T, n trafficNet) {
	hp := func(addr string, port int) string { return net.JoinHostPort(addr, fmt.Sprint(port)) }
	node := netnstest.New(t, "node")
	pod1, pod2 := netnstest.New(t, "pod1"), netnstest.New(t, "pod2")
	outside := netnstest.New(t, "out")
	if n.family == proxy.IPv6 {
		for _, ns := range []*netnstest.NS{node, pod1, pod2, outside} {
			ns.EnableIPv6(ns == node)
		}
	}
	netnstest.Link(t, node, "p1", n.gw1+"/"+n.bits, pod1, "eth0", n.pod1+"/"+n.bits)
	netnstest.Link(t, node, "p2", n.gw2+"/"+n.bits, pod2, "eth0", n.pod2+"/"+n.bits)
	pod1.Run("ip", "route", "add", "default", "via", n.gw1)
	pod2.Run("ip", "route", "add", "default", "via", n.gw2)
	if n.family == proxy.IPv4 {
		node.Sysctl("net.ipv4.ip_forward", "1")
	}
	// A pod reaching itself through a Service is routed back out of the link
	// it came in on here (no bridge), and the node answers with ICMP
	// redirects, which use up the per-client token bucket that the port
	// unreachable of a rejected UDP packet needs too.
	node.Sysctl("net.ipv4.icmp_ratelimit", "0")
	node.Sysctl("net.ipv6.icmp.ratelimit", "0")
	// The node reaches service addresses through a default route, as a real node does.
	netnstest.Link(t, node, "uplink", n.uplink+"/"+n.bits, outside, "eth0", n.outside+"/"+n.bits)
	node.Run("ip", "route", "add", "default", "via", n.outside)
	outside.Run("ip", "route", "add", n.pods, "via", n.uplink)

	for _, p := range []struct {
		ns   *netnstest.NS
		name string
	}{{pod1, "pod1"}, {pod2, "pod2"}} {
		l, err := p.ns.Listen("tcp", ":8080")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go netnstest.ServeEcho(l, p.name)
		u, err := p.ns.ListenPacket("udp", ":5353")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		go netnstest.ServeEchoUDP(u, p.name)
	}

	web := port("default", "web", "", corev1.ProtocolTCP, n.web, 80, ep(n.pod1, 8080, "node-a"), ep(n.pod2, 8080, "node-a"))
	web.NodePort = 30080
	empty := port("default", "empty", "", corev1.ProtocolTCP, n.empty, 80)
	dns := port("default", "dns", "", corev1.ProtocolUDP, n.dns, 53, ep(n.pod1, 5353, "node-a"))
	emptyUDP := port("default", "empty-udp", "", corev1.ProtocolUDP, n.emptyUDP, 53)
	snap := &proxy.Snapshot{Ports: []*proxy.ServicePort{dns, empty, emptyUDP, web}}
	p := newProxierFamily(t, node, n.family)
	cfg := Config{Family: n.family, NodeName: "node-a", ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix(n.pods)}}
	if _, err := p.Sync(Build(snap, cfg), false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	webAddr := hp(n.web, 80)
	// The first IPv6 connection through the node can lose its first SYN
	// while neighbours are resolved (a retransmission a second later): one
	// unhurried connection from each pod warms the paths up.
	for _, ns := range []*netnstest.NS{pod1, pod2} {
		if _, err := ns.Ask(ctx, "tcp", webAddr, 5*time.Second); err != nil {
			t.Fatalf("first connection to %s: %v", webAddr, err)
		}
	}

	t.Run("clusterIP from a pod spreads evenly over both endpoints", func(t *testing.T) {
		seen := map[string]int{}
		for range 200 {
			name, _, err := ask(ctx, pod2, "tcp", webAddr)
			if err != nil {
				t.Fatal(err)
			}
			seen[name]++
		}
		// Binomial(200, 1/2): 100 each, standard deviation 7; 60 is more than
		// five deviations off.
		if seen["pod1"] < 60 || seen["pod2"] < 60 {
			t.Errorf("endpoints reached over 200 connections: %v; want about 100 each", seen)
		}
	})
	t.Run("clusterIP from the node", func(t *testing.T) {
		if _, _, err := ask(ctx, node, "tcp", webAddr); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("pod source address preserved, hairpin masqueraded", func(t *testing.T) {
		var direct, hairpin bool
		for i := 0; i < 100 && !(direct && hairpin); i++ {
			name, client, err := ask(ctx, pod1, "tcp", webAddr)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case name == "pod2" && client == n.pod1:
				direct = true
			case name == "pod1" && client == n.gw1:
				hairpin = true
			case name == "pod1" || name == "pod2":
				t.Fatalf("%s saw client %s", name, client)
			}
		}
		if !direct || !hairpin {
			t.Errorf("direct=%t hairpin=%t; want both seen", direct, hairpin)
		}
	})
	t.Run("node port on a node address", func(t *testing.T) {
		for _, addr := range []string{hp(n.gw2, 30080), hp(n.uplink, 30080)} {
			if _, _, err := ask(ctx, pod2, "tcp", addr); err != nil {
				t.Errorf("%s: %v", addr, err)
			}
		}
		if _, _, err := ask(ctx, node, "tcp", hp(n.uplink, 30080)); err != nil {
			t.Errorf("from the node itself: %v", err)
		}
		// From outside the cluster: masqueraded, so the reply comes back via the node.
		name, client, err := ask(ctx, outside, "tcp", hp(n.uplink, 30080))
		if err != nil {
			t.Fatalf("from outside: %v", err)
		}
		if want := map[string]string{"pod1": n.gw1, "pod2": n.gw2}[name]; client != want {
			t.Errorf("outside client seen by %s as %s; want the node's address %s", name, client, want)
		}
	})
	t.Run("no endpoints rejects at once", func(t *testing.T) {
		for _, network := range []string{"tcp", "udp"} {
			addr := hp(n.empty, 80)
			if network == "udp" {
				// ICMP (ICMPv6) port unreachable.
				addr = hp(n.emptyUDP, 53)
			}
			start := time.Now()
			_, _, err := ask(ctx, pod2, network, addr)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("%s to a service without endpoints: %v; want connection refused", network, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s refusal took %v", network, d)
			}
		}
	})
	t.Run("udp", func(t *testing.T) {
		name, _, err := ask(ctx, pod2, "udp", hp(n.dns, 53))
		if err != nil || name != "pod1" {
			t.Fatalf("udp answer from %q, %v; want pod1", name, err)
		}
	})
}

// TestBatchErrorsAreReported sends a transaction the kernel refuses and expects
// the error, with nothing of the transaction applied.
func TestBatchErrorsAreReported(t *testing.T) {
	ns := netnstest.New(t, "err")
	p := newProxier(t, ns)
	if _, err := p.Sync(Build(fixtureSnapshot(), fixtureConfig()), true); err != nil {
		t.Fatal(err)
	}
	before := nftList(t, ns, "svcnet")
	p.w.conn.AddChain(&nft.Chain{Table: p.table, Name: "would-be-added"})
	p.w.conn.DelChain(&nft.Chain{Table: p.table, Name: "no-such-chain"})
	err := p.w.commit()
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("commit of a batch deleting a missing chain: %v; want ENOENT", err)
	}
	if after := nftList(t, ns, "svcnet"); after != before {
		t.Errorf("a refused batch changed the table:\n%s", after)
	}
}

// TestGoldenAcceptedByNft has nft check every golden ruleset against the kernel
// (nft -c, in a namespace): what the printer writes is what nft would load.
func TestGoldenAcceptedByNft(t *testing.T) {
	ns := netnstest.New(t, "chk")
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.nft"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("golden files: %v, %v", goldens, err)
	}
	for _, g := range goldens {
		ns.Run("nft", "-c", "-f", g)
	}
}

// TestBuilderSyncsMatchFullSync drives one Builder and one Proxier the way the
// agent does (unchanged ports keep their pointers, so unchanged groups are
// skipped by pointer) through insertions, removals and changes at various
// places, and expects the kernel to hold what a fresh full sync gives.
func TestBuilderSyncsMatchFullSync(t *testing.T) {
	inc, full := netnstest.New(t, "binc"), netnstest.New(t, "bfull")
	pInc := newProxier(t, inc)
	bd := NewBuilder()
	cfg := fixtureConfig()
	extra := func(name, ip string, eps ...proxy.Endpoint) *proxy.ServicePort {
		return port("default", name, "", corev1.ProtocolTCP, ip, 80, eps...)
	}
	changed := func(sp *proxy.ServicePort, eps ...proxy.Endpoint) *proxy.ServicePort {
		c := *sp
		c.Endpoints = eps
		return &c
	}
	ports := fixtureSnapshot().Ports
	steps := []struct {
		name   string
		change func([]*proxy.ServicePort) []*proxy.ServicePort
	}{
		{name: "initial", change: func(p []*proxy.ServicePort) []*proxy.ServicePort { return p }},
		{name: "one changed in place", change: func(p []*proxy.ServicePort) []*proxy.ServicePort {
			p = slices.Clone(p)
			p[3] = changed(p[3], ep("10.244.2.8", 80, "node-b"), ep("10.244.1.40", 80, "node-a"))
			return p
		}},
		{name: "one inserted", change: func(p []*proxy.ServicePort) []*proxy.ServicePort {
			return slices.Insert(slices.Clone(p), 4, extra("np-a", "10.96.0.40", ep("10.244.1.41", 80, "node-a")))
		}},
		{name: "one removed", change: func(p []*proxy.ServicePort) []*proxy.ServicePort {
			return slices.Delete(slices.Clone(p), 1, 2)
		}},
		{name: "two removed in a row, one changed after them", change: func(p []*proxy.ServicePort) []*proxy.ServicePort {
			p = slices.Delete(slices.Clone(p), 2, 4)
			p[3] = changed(p[3])
			return p
		}},
		{name: "first and last replaced", change: func(p []*proxy.ServicePort) []*proxy.ServicePort {
			p = slices.Clone(p)
			p[0] = changed(p[0], ep("10.244.1.42", 80, "node-a"), ep("10.244.1.43", 80, "node-a"), ep("10.244.1.44", 80, "node-a"))
			p[len(p)-1] = changed(p[len(p)-1])
			return p
		}},
		{name: "all back", change: func([]*proxy.ServicePort) []*proxy.ServicePort { return fixtureSnapshot().Ports }},
	}
	for i, step := range steps {
		ports = step.change(ports)
		snap := &proxy.Snapshot{Ports: ports}
		rs := bd.Build(snap, cfg)
		if got, want := rs.String(), Build(snap, cfg).String(); got != want {
			t.Fatalf("%s: reused builder gives\n%s\nwant\n%s", step.name, got, want)
		}
		st, err := pInc.Sync(rs, false)
		if err != nil {
			t.Fatalf("%s: incremental sync: %v", step.name, err)
		}
		if i > 0 && st.Full {
			t.Errorf("%s: sync was full; want incremental", step.name)
		}
		pFull := newProxier(t, full)
		if _, err := pFull.Sync(Build(snap, cfg), true); err != nil {
			t.Fatalf("%s: full sync: %v", step.name, err)
		}
		if got, want := normalized(nftList(t, inc, "svcnet")), normalized(nftList(t, full, "svcnet")); !sameTable(got, want) {
			t.Fatalf("%s: incremental table differs from full:\n--- incremental\n%s\n--- full\n%s", step.name, got, want)
		}
	}
	// A full sync removes the picker chains incremental syncs left behind.
	if _, err := pInc.Sync(Build(&proxy.Snapshot{Ports: ports}, cfg), true); err != nil {
		t.Fatal(err)
	}
	if got, want := normalized(nftList(t, inc, "svcnet")), normalized(nftList(t, full, "svcnet")); got != want {
		t.Fatalf("after a full sync:\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestMapsGrow starts from a table whose map an older svcnet made without a
// size, then grows an endpoint map past its size with an incremental sync: the
// sync turns into a full one that makes the maps anew, and the kernel holds
// what a fresh full sync gives.
func TestMapsGrow(t *testing.T) {
	ns, ref := netnstest.New(t, "grow"), netnstest.New(t, "gref")
	ns.Run("nft", "add table ip svcnet")
	ns.Run("nft", "add map ip svcnet service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }")
	ns.Run("nft", "add chain ip svcnet old-chain")
	ns.Run("nft", "add element ip svcnet service-ips { 10.96.9.9 . tcp . 80 : goto old-chain }")
	ns.Run("nft", "add chain ip svcnet services")
	ns.Run("nft", "add rule ip svcnet services ip daddr . meta l4proto . th dport vmap @service-ips")
	p := newProxier(t, ns)
	bd := NewBuilder()
	cfg := fixtureConfig()
	for i, n := range []int{10, 500} {
		snap := syntheticSnapshot(n)
		st, err := p.Sync(bd.Build(snap, cfg), i == 0)
		if err != nil {
			t.Fatalf("%d services: %v", n, err)
		}
		if !st.Full {
			t.Errorf("%d services: sync was incremental; want full (a map had to grow)", n)
		}
		pRef := newProxier(t, ref)
		if _, err := pRef.Sync(Build(snap, cfg), true); err != nil {
			t.Fatal(err)
		}
		if got, want := normalized(nftList(t, ns, "svcnet")), normalized(nftList(t, ref, "svcnet")); got != want {
			t.Fatalf("%d services: table differs from a fresh full sync:\n--- got\n%s\n--- want\n%s", n, got, want)
		}
	}
	// Room is left: one more change is incremental.
	snap := syntheticSnapshot(501)
	if st, err := p.Sync(bd.Build(snap, cfg), false); err != nil || st.Full {
		t.Errorf("one more service: full=%t, %v; want an incremental sync", st.Full, err)
	}
}

// TestFullSyncAfterOlderAgent loads the table an older agent wrote (with the
// filter chains that refused ports without endpoints, before the refusal moved
// into the nat chains) and expects the first full sync to leave exactly the
// current table.
func TestFullSyncAfterOlderAgent(t *testing.T) {
	ns := netnstest.New(t, "older")
	old, err := filepath.Abs(filepath.Join("testdata", "older-agent.nft"))
	if err != nil {
		t.Fatal(err)
	}
	ns.Run("nft", "-f", old)
	if !strings.Contains(nftList(t, ns, "svcnet"), "chain filter-forward") {
		t.Fatal("the older table has no filter chains")
	}
	rs := Build(fixtureSnapshot(), fixtureConfig())
	st, err := newProxier(t, ns).Sync(rs, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChainsDeleted != 5 {
		t.Errorf("chains deleted = %d; want the 5 filter and check chains", st.ChainsDeleted)
	}
	fresh := netnstest.New(t, "fresh")
	if _, err := newProxier(t, fresh).Sync(rs, true); err != nil {
		t.Fatal(err)
	}
	if got, want := normalized(nftList(t, ns, "svcnet")), normalized(nftList(t, fresh, "svcnet")); got != want {
		t.Errorf("after the full sync:\n%s\nwant:\n%s", got, want)
	}
}
