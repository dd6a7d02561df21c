package dns

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func newTestHandler(cfg Config) *Handler {
	ix := NewIndex("cluster.local")
	specFixture(ix)
	if cfg.TTL == 0 {
		cfg.TTL = 30
	}
	h := NewHandler(ix, cfg, nil, nil)
	h.SetReady()
	return h
}

// call runs one message through h and unpacks the answer (nil when dropped).
func call(t *testing.T, h *Handler, msg []byte, src netip.Addr, opts int) *mdns.Msg {
	t.Helper()
	var q query
	var w writer
	resp, act := h.handle(msg, src, opts, &q, &w, make([]byte, 0, 512))
	switch act {
	case drop:
		return nil
	case async:
		t.Fatalf("unexpected async")
	}
	m := new(mdns.Msg)
	if err := m.Unpack(resp); err != nil {
		t.Fatalf("unpack response %x: %v", resp, err)
	}
	return m
}

func pack(t *testing.T, m *mdns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func question(name string, qtype uint16) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0xbeef
	return m
}

func TestMalformedAndUnusualMessages(t *testing.T) {
	h := newTestHandler(Config{})
	valid := pack(t, question("kubernetes.default.svc.cluster.local.", mdns.TypeA))
	withFlags := func(b []byte, hi, lo byte) []byte {
		c := append([]byte(nil), b...)
		c[2], c[3] = hi, lo
		return c
	}
	withCounts := func(b []byte, qd, an, ns, ar uint16) []byte {
		c := append([]byte(nil), b...)
		c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11] = byte(qd>>8), byte(qd), byte(an>>8), byte(an), byte(ns>>8), byte(ns), byte(ar>>8), byte(ar)
		return c
	}
	pointer := append(append([]byte(nil), valid[:12]...), 0xc0, 0x0c, 0, 1, 0, 1)
	edns := func(version uint8, do bool, twice bool) []byte {
		m := question("kubernetes.default.svc.cluster.local.", mdns.TypeA)
		m.SetEdns0(1232, do)
		m.IsEdns0().SetVersion(version)
		if twice {
			m.Extra = append(m.Extra, m.Extra[0])
		}
		return pack(t, m)
	}
	chaos := question("version.bind.", mdns.TypeTXT)
	chaos.Question[0].Qclass = mdns.ClassCHAOS
	cases := []struct {
		name      string
		msg       []byte
		dropped   bool
		rcode     int
		question  bool
		checkOPT  func(*mdns.OPT) error
		wantAnswe int
	}{
		{name: "too short for a header", msg: []byte{1, 2, 3}, dropped: true},
		{name: "a response is never answered", msg: withFlags(valid, 0x80, 0), dropped: true},
		{name: "no question", msg: withCounts(valid[:12], 0, 0, 0, 0), rcode: mdns.RcodeFormatError},
		{name: "two questions", msg: withCounts(valid, 2, 0, 0, 0), rcode: mdns.RcodeFormatError},
		{name: "name cut short", msg: valid[:20], rcode: mdns.RcodeFormatError},
		{name: "type and class cut short", msg: valid[:len(valid)-2], rcode: mdns.RcodeFormatError},
		{name: "compression pointer in the question", msg: pointer, rcode: mdns.RcodeFormatError},
		{name: "additional record promised but absent", msg: withCounts(valid, 1, 0, 0, 1), rcode: mdns.RcodeFormatError},
		{name: "label over 63 bytes", msg: append(append(append([]byte(nil), valid[:12]...), 64), make([]byte, 70)...), rcode: mdns.RcodeFormatError},
		{name: "NOTIFY is not implemented", msg: withFlags(valid, 0x20, 0), rcode: mdns.RcodeNotImplemented, question: true},
		{name: "class CHAOS refused", msg: pack(t, chaos), rcode: mdns.RcodeRefused, question: true},
		{name: "EDNS version 1 gets BADVERS", msg: edns(1, false, false), rcode: mdns.RcodeBadVers, question: true,
			checkOPT: func(o *mdns.OPT) error {
				if o.Version() != 0 {
					return fmt.Errorf("version %d", o.Version())
				}
				return nil
			}},
		{name: "two OPT records", msg: edns(0, false, true), rcode: mdns.RcodeFormatError},
		{name: "EDNS with DO: DO echoed, our size advertised", msg: edns(0, true, false), rcode: mdns.RcodeSuccess, question: true, wantAnswe: 1,
			checkOPT: func(o *mdns.OPT) error {
				if !o.Do() || o.UDPSize() != maxUDPSize {
					return fmt.Errorf("do %v size %d", o.Do(), o.UDPSize())
				}
				return nil
			}},
		{name: "plain query", msg: valid, rcode: mdns.RcodeSuccess, question: true, wantAnswe: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := call(t, h, tc.msg, loopback, 0)
			if tc.dropped {
				if m != nil {
					t.Fatalf("answered %v", m)
				}
				return
			}
			if m == nil {
				t.Fatal("dropped")
			}
			if m.Rcode != tc.rcode || !m.Response {
				t.Fatalf("rcode %s, want %s", mdns.RcodeToString[m.Rcode], mdns.RcodeToString[tc.rcode])
			}
			if len(tc.msg) >= 2 && m.Id != uint16(tc.msg[0])<<8|uint16(tc.msg[1]) {
				t.Fatalf("id %x", m.Id)
			}
			if (len(m.Question) == 1) != tc.question {
				t.Fatalf("question %v", m.Question)
			}
			if len(m.Answer) != tc.wantAnswe {
				t.Fatalf("answers %v", m.Answer)
			}
			if tc.checkOPT != nil {
				o := m.IsEdns0()
				if o == nil {
					t.Fatal("no OPT in the response")
				}
				if err := tc.checkOPT(o); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestNotReadyAnswersServFail(t *testing.T) {
	ix := NewIndex("cluster.local")
	h := NewHandler(ix, Config{TTL: 30}, nil, nil)
	m := call(t, h, pack(t, question("nosuch.default.svc.cluster.local.", mdns.TypeA)), loopback, 0)
	if m.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("before sync: %s, want SERVFAIL (never a false NXDOMAIN)", mdns.RcodeToString[m.Rcode])
	}
	h.SetReady()
	if m := call(t, h, pack(t, question("nosuch.default.svc.cluster.local.", mdns.TypeA)), loopback, 0); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("after sync: %s", mdns.RcodeToString[m.Rcode])
	}
}

func TestClientFilterRefusesOutsiders(t *testing.T) {
	f := NewClientFilter([]netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")})
	f.setNode("node-a", []netip.Prefix{netip.MustParsePrefix("192.168.5.7/32"), netip.MustParsePrefix("10.245.1.0/24")})
	h := newTestHandler(Config{Allowed: f.Allowed})
	q := pack(t, question("kubernetes.default.svc.cluster.local.", mdns.TypeA))
	for _, tc := range []struct {
		src  string
		want int
	}{
		{"127.0.0.1", mdns.RcodeSuccess},
		{"::1", mdns.RcodeSuccess},
		{"10.244.3.4", mdns.RcodeSuccess},  // pod network
		{"192.168.5.7", mdns.RcodeSuccess}, // a node
		{"10.245.1.9", mdns.RcodeSuccess},  // a node's pod CIDR
		{"192.168.5.8", mdns.RcodeRefused}, // a neighbour of a node
		{"203.0.113.9", mdns.RcodeRefused}, // the world
		{"10.246.0.1", mdns.RcodeRefused},  // outside every network
	} {
		m := call(t, h, q, netip.MustParseAddr(tc.src), 0)
		if m.Rcode != tc.want {
			t.Errorf("from %s: %s, want %s", tc.src, mdns.RcodeToString[m.Rcode], mdns.RcodeToString[tc.want])
		}
		if tc.want == mdns.RcodeRefused && len(m.Answer) > 0 {
			t.Errorf("from %s: refused with answers", tc.src)
		}
	}
	f.setNode("node-a", nil)
	if m := call(t, h, q, netip.MustParseAddr("192.168.5.7"), 0); m.Rcode != mdns.RcodeRefused {
		t.Errorf("a deleted node's address still allowed")
	}
}

func TestRateLimitPerClient(t *testing.T) {
	h := newTestHandler(Config{RateLimit: 5})
	q := pack(t, question("kubernetes.default.svc.cluster.local.", mdns.TypeA))
	answered := 0
	for range 20 {
		if call(t, h, q, netip.MustParseAddr("10.244.1.1"), 0) != nil {
			answered++
		}
	}
	if answered != 5 {
		t.Fatalf("%d of 20 answered at once with a limit of 5/s", answered)
	}
	if call(t, h, q, netip.MustParseAddr("10.244.1.2"), 0) == nil {
		t.Fatal("another client is limited too")
	}

	l := newRateLimiter(10)
	now := time.Unix(1000, 0)
	src := netip.MustParseAddr("10.0.0.1")
	for i := range 10 {
		if !l.allow(src, now) {
			t.Fatalf("burst query %d refused", i)
		}
	}
	if l.allow(src, now) {
		t.Fatal("11th query in the same instant allowed")
	}
	if !l.allow(src, now.Add(100*time.Millisecond)) || l.allow(src, now.Add(100*time.Millisecond)) {
		t.Fatal("100 ms should refill exactly one token at 10/s")
	}
	for i := range limiterSweepAt {
		l.allow(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), now)
	}
	l.allow(netip.MustParseAddr("10.2.0.1"), now.Add(time.Hour))
	if len(l.b) > 2 {
		t.Fatalf("%d buckets kept after a sweep; full ones should go", len(l.b))
	}
}

func TestTruncation(t *testing.T) {
	ix := NewIndex("cluster.local")
	ix.SetNamespace("default")
	ix.SetService(&Service{Namespace: "default", Name: "big", Headless: true})
	var eps []Endpoint
	for i := range 200 {
		eps = append(eps, Endpoint{Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 244, byte(i / 100), byte(i%100 + 1)})}, Ready: true})
	}
	ix.SetSlice(&Slice{Namespace: "default", Name: "big-1", Service: "big", Endpoints: eps, Ports: []Port{{"http", "tcp", 80}}})
	h := NewHandler(ix, Config{TTL: 5}, nil, nil)
	h.SetReady()
	plain := question("big.default.svc.cluster.local.", mdns.TypeA)
	ednsQ := question("big.default.svc.cluster.local.", mdns.TypeA)
	ednsQ.SetEdns0(4096, false)
	small := question("big.default.svc.cluster.local.", mdns.TypeA)
	small.SetEdns0(100, false) // below 512: 512 applies
	for _, tc := range []struct {
		name      string
		q         *mdns.Msg
		tcp       bool
		truncated bool
		answers   int
	}{
		{"UDP without EDNS: 512 bytes", plain, false, true, 0},
		{"UDP with EDNS 4096: capped at 1232", ednsQ, false, true, 0},
		{"UDP with EDNS below 512", small, false, true, 0},
		{"TCP: everything", plain, true, false, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := 0
			if tc.tcp {
				opts = viaTCP
			}
			var q query
			var w writer
			resp, _ := h.handle(pack(t, tc.q), loopback, opts, &q, &w, nil)
			m := new(mdns.Msg)
			if err := m.Unpack(resp); err != nil {
				t.Fatal(err)
			}
			if m.Truncated != tc.truncated || len(m.Answer) != tc.answers {
				t.Fatalf("tc=%v answers=%d (%d bytes)", m.Truncated, len(m.Answer), len(resp))
			}
			if tc.q.IsEdns0() != nil && m.IsEdns0() == nil {
				t.Fatal("OPT lost in the truncated answer")
			}
		})
	}
}

func TestIndexFollowsChanges(t *testing.T) {
	ix := NewIndex("cluster.local")
	specFixture(ix)
	h := newTestHandler(Config{})
	h.ix = ix
	ask := func(name string, qtype uint16) *mdns.Msg {
		return call(t, h, pack(t, question(name, qtype)), loopback, 0)
	}
	a := netip.MustParseAddr
	// db-2 turns ready: it joins the A set, gets its name, and a PTR.
	ix.SetSlice(&Slice{Namespace: "prod", Name: "db-abc", Service: "db", Ports: []Port{{"pg", "tcp", 5432}},
		Endpoints: []Endpoint{
			{Addrs: []netip.Addr{a("10.244.1.10")}, Hostname: "db-0", Ready: true},
			{Addrs: []netip.Addr{a("10.244.3.12")}, Hostname: "db-2", Ready: true},
		}})
	if m := ask("db.prod.svc.cluster.local.", mdns.TypeA); len(m.Answer) != 2 {
		t.Fatalf("db A: %v", m.Answer)
	}
	if m := ask("db-1.db.prod.svc.cluster.local.", mdns.TypeA); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("db-1 left but still answers")
	}
	if m := ask("12.3.244.10.in-addr.arpa.", mdns.TypePTR); len(m.Answer) != 1 {
		t.Fatalf("PTR of db-2: %v", m)
	}
	if m := ask("11.2.244.10.in-addr.arpa.", mdns.TypePTR); m.Rcode != mdns.RcodeRefused {
		t.Fatalf("PTR of the gone db-1 should no longer be ours: %s", mdns.RcodeToString[m.Rcode])
	}
	// The slice goes away: a headless Service without endpoints is NXDOMAIN.
	ix.DeleteSlice("prod", "db-abc", "db")
	if m := ask("db.prod.svc.cluster.local.", mdns.TypeA); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("empty headless: %s", mdns.RcodeToString[m.Rcode])
	}
	// A Service changes its ClusterIP's port names, then is deleted.
	ix.SetService(&Service{Namespace: "prod", Name: "api", ClusterIPs: []netip.Addr{a("10.96.10.21")}, Ports: []Port{{"grpc", "tcp", 9090}}})
	if m := ask("_http._tcp.api.prod.svc.cluster.local.", mdns.TypeSRV); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("old port name still answers")
	}
	if m := ask("_grpc._tcp.api.prod.svc.cluster.local.", mdns.TypeSRV); len(m.Answer) != 1 {
		t.Fatalf("new port name: %v", m)
	}
	ix.DeleteService("prod", "api")
	if m := ask("api.prod.svc.cluster.local.", mdns.TypeA); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("deleted Service answers")
	}
	if m := ask("21.10.96.10.in-addr.arpa.", mdns.TypePTR); m.Rcode != mdns.RcodeRefused {
		t.Fatalf("PTR of a deleted Service: %s", mdns.RcodeToString[m.Rcode])
	}
	// Namespaces: a deleted one is NXDOMAIN; pods in it no longer resolve.
	ix.DeleteNamespace("default")
	if m := ask("default.svc.cluster.local.", mdns.TypeA); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("deleted namespace: %s; as in CoreDNS, only the Namespace object makes it exist", mdns.RcodeToString[m.Rcode])
	}
	ix.DeletePod("prod", "busybox1")
	if m := ask("10-244-7-7.prod.pod.cluster.local.", mdns.TypeA); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("deleted pod answers: %s", mdns.RcodeToString[m.Rcode])
	}
}

func TestPodRecordModes(t *testing.T) {
	for _, tc := range []struct {
		mode PodRecords
		name string
		want int
	}{
		{PodsDisabled, "10-244-7-7.prod.pod.cluster.local.", mdns.RcodeNameError},
		{PodsInsecure, "10-244-7-7.prod.pod.cluster.local.", mdns.RcodeSuccess},
		{PodsInsecure, "10-9-9-9.prod.pod.cluster.local.", mdns.RcodeSuccess},
		{PodsInsecure, "10-9-9-9.nosuchns.pod.cluster.local.", mdns.RcodeNameError},
		{PodsInsecure, "not-an-ip.prod.pod.cluster.local.", mdns.RcodeNameError},
		{PodsInsecure, "fd00-10-244--5.prod.pod.cluster.local.", mdns.RcodeSuccess},
		{PodsVerified, "10-9-9-9.prod.pod.cluster.local.", mdns.RcodeNameError},
		{PodsVerified, "10-244-7-7.prod.pod.cluster.local.", mdns.RcodeSuccess},
	} {
		h := newTestHandler(Config{Pods: tc.mode})
		qtype := mdns.TypeA
		if tc.name[:4] == "fd00" {
			qtype = mdns.TypeAAAA
		}
		m := call(t, h, pack(t, question(tc.name, qtype)), loopback, 0)
		if m.Rcode != tc.want || (tc.want == mdns.RcodeSuccess && len(m.Answer) != 1) {
			t.Errorf("%s %s: %s %v", tc.mode, tc.name, mdns.RcodeToString[m.Rcode], m.Answer)
		}
	}
}
