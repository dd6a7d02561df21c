package dns

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeUpstream is a resolver on loopback (UDP and TCP on one port) that
// answers a.test with 10.0.0.1 (TTL 60), truncates big.test over UDP, fails
// bad.test, and counts the questions it sees per transport.
type fakeUpstream struct {
	addr     string
	udp, tcp atomic.Int64
}

func startUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().String()
	l, err := net.Listen("tcp", u.addr)
	if err != nil {
		t.Fatal(err)
	}
	handler := func(tcp bool) mdns.Handler {
		return mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
			if tcp {
				u.tcp.Add(1)
			} else {
				u.udp.Add(1)
			}
			m := new(mdns.Msg)
			m.SetReply(r)
			switch r.Question[0].Name {
			case "a.test.", "A.Test.":
				rr, _ := mdns.NewRR("a.test. 60 IN A 10.0.0.1")
				m.Answer = append(m.Answer, rr)
			case "big.test.":
				if !tcp {
					m.Truncated = true
					break
				}
				for i := range 100 {
					rr, _ := mdns.NewRR(fmt.Sprintf("big.test. 60 IN A 10.0.0.%d", i+1))
					m.Answer = append(m.Answer, rr)
				}
			case "bad.test.":
				m.Rcode = mdns.RcodeServerFailure
			default:
				m.Rcode = mdns.RcodeNameError
				soa, _ := mdns.NewRR("test. 3600 IN SOA ns.test. h.test. 1 2 3 4 20")
				m.Ns = append(m.Ns, soa)
			}
			_ = w.WriteMsg(m)
		})
	}
	us := &mdns.Server{PacketConn: pc, Handler: handler(false)}
	ts := &mdns.Server{Listener: l, Handler: handler(true)}
	go func() { _ = us.ActivateAndServe() }()
	go func() { _ = ts.ActivateAndServe() }()
	t.Cleanup(func() { _ = us.Shutdown(); _ = ts.Shutdown() })
	return u
}

func TestForwarding(t *testing.T) {
	up := startUpstream(t)
	// The first upstream refuses connections: the second one answers.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	fwd := NewForwarder([]string{deadAddr, up.addr}, 2, nil)
	fwd.timeout = 500 * time.Millisecond
	fwd.udp.Timeout, fwd.tcp.Timeout = fwd.timeout, fwd.timeout
	now := time.Unix(5000, 0)
	fwd.now = func() time.Time { return now }
	ix := NewIndex("cluster.local")
	h := NewHandler(ix, Config{TTL: 30}, fwd, nil)
	h.SetReady()
	ask := func(name string, qtype uint16, opts int) *mdns.Msg {
		t.Helper()
		var q query
		var w writer
		msg := pack(t, question(name, qtype))
		if _, act := h.handle(msg, loopback, opts, &q, &w, nil); act != async && opts&mayBlock == 0 {
			t.Fatalf("forwarded query answered on the fast path")
		}
		resp, act := h.handle(msg, loopback, opts|mayBlock|counted, &q, &w, nil)
		if act != reply {
			t.Fatalf("action %v", act)
		}
		m := new(mdns.Msg)
		if err := m.Unpack(resp); err != nil {
			t.Fatal(err)
		}
		return m
	}

	m := ask("A.Test.", mdns.TypeA, 0)
	if len(m.Answer) != 1 || m.Question[0].Name != "A.Test." || !m.RecursionAvailable || m.Authoritative {
		t.Fatalf("forwarded answer %v", m)
	}
	now = now.Add(20 * time.Second)
	m = ask("a.test.", mdns.TypeA, 0)
	if up.udp.Load() != 1 {
		t.Fatalf("upstream asked %d times; the second answer should come from the cache", up.udp.Load())
	}
	if ttl := m.Answer[0].Header().Ttl; ttl != 40 {
		t.Fatalf("cached TTL %d, want 60-20", ttl)
	}
	now = now.Add(41 * time.Second)
	ask("a.test.", mdns.TypeA, 0)
	if up.udp.Load() != 2 {
		t.Fatalf("expired answer served from the cache")
	}

	// A truncated UDP answer is asked again over TCP; the client gets what
	// fits its UDP size, with TC, or everything over TCP.
	m = ask("big.test.", mdns.TypeA, 0)
	if up.tcp.Load() != 1 || !m.Truncated {
		t.Fatalf("tcp asks %d, truncated %v", up.tcp.Load(), m.Truncated)
	}
	if m = ask("big.test.", mdns.TypeA, viaTCP); len(m.Answer) != 100 || m.Truncated {
		t.Fatalf("over TCP: %d answers", len(m.Answer))
	}

	// Negative answers are cached for the SOA minimum; SERVFAIL never.
	before := up.udp.Load()
	if m = ask("nope.test.", mdns.TypeA, 0); m.Rcode != mdns.RcodeNameError {
		t.Fatalf("rcode %s", mdns.RcodeToString[m.Rcode])
	}
	ask("nope.test.", mdns.TypeA, 0)
	if up.udp.Load()-before != 1 {
		t.Fatalf("NXDOMAIN not cached")
	}
	before = up.udp.Load()
	if m = ask("bad.test.", mdns.TypeA, 0); m.Rcode != mdns.RcodeServerFailure {
		t.Fatalf("rcode %s", mdns.RcodeToString[m.Rcode])
	}
	ask("bad.test.", mdns.TypeA, 0)
	if up.udp.Load()-before != 2 {
		t.Fatalf("SERVFAIL cached")
	}
	// The cache holds at most 2 answers.
	if fwd.lru.Len() > 2 || len(fwd.byKey) > 2 {
		t.Fatalf("cache holds %d answers, limit 2", fwd.lru.Len())
	}
}

func TestExternalNameChasesTheTarget(t *testing.T) {
	up := startUpstream(t)
	fwd := NewForwarder([]string{up.addr}, 10, nil)
	ix := NewIndex("cluster.local")
	ix.SetNamespace("default")
	ix.SetService(&Service{Namespace: "default", Name: "ext", ExternalName: "a.test"})
	h := NewHandler(ix, Config{TTL: 30}, fwd, nil)
	h.SetReady()
	msg := pack(t, question("ext.default.svc.cluster.local.", mdns.TypeA))
	var q query
	var w writer
	if _, act := h.handle(msg, loopback, 0, &q, &w, nil); act != async {
		t.Fatalf("chasing a CNAME must leave the fast path")
	}
	resp, _ := h.handle(msg, loopback, mayBlock|counted, &q, &w, nil)
	m := new(mdns.Msg)
	if err := m.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	got := rrs(m.Answer)
	want := []string{"a.test. IN A 10.0.0.1", "ext.default.svc.cluster.local. IN CNAME a.test."}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("answer %q, want %q", got, want)
	}
}
