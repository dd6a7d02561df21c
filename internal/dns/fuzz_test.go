package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzHandle feeds arbitrary bytes to the packet handler: it must never
// panic, and whatever it sends must be a well-formed DNS response to the same
// ID that fits the transport's size limit.
func FuzzHandle(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{"kubernetes.default.svc.cluster.local.", mdns.TypeA, false},
		{"_pg._tcp.db.prod.svc.cluster.local.", mdns.TypeSRV, true},
		{"db.prod.svc.cluster.local.", mdns.TypeA, true},
		{"10.1.244.10.in-addr.arpa.", mdns.TypePTR, false},
		{"ext.prod.svc.cluster.local.", mdns.TypeCNAME, false},
		{"cluster.local.", mdns.TypeSOA, false},
		{"cluster.local.", mdns.TypeNS, true},
		{"10-244-7-7.prod.pod.cluster.local.", mdns.TypeA, false},
		{"nosuch.prod.svc.cluster.local.", mdns.TypeAAAA, true},
		{"dns-version.cluster.local.", mdns.TypeTXT, false},
	} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns {
			m.SetEdns0(1232, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xc0, 0x0c}, false)
	ix := NewIndex("cluster.local")
	specFixture(ix)
	h := NewHandler(ix, Config{TTL: 30, Pods: PodsVerified}, nil, nil)
	h.SetReady()
	f.Fuzz(func(t *testing.T, msg []byte, tcp bool) {
		opts := 0
		if tcp {
			opts = viaTCP
		}
		var q query
		var w writer
		resp, act := h.handle(msg, loopback, opts, &q, &w, make([]byte, 0, 512))
		if act != reply {
			return
		}
		if len(msg) < headerLen {
			t.Fatalf("answered a %d-byte message", len(msg))
		}
		limit := maxMsgSize
		if !tcp {
			limit = maxUDPSize
		}
		if len(resp) > limit {
			t.Fatalf("%d-byte response over the %d-byte limit", len(resp), limit)
		}
		m := new(mdns.Msg)
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("response does not parse: %v\n% x", err, resp)
		}
		if !m.Response || m.Id != uint16(msg[0])<<8|uint16(msg[1]) {
			t.Fatalf("bad response header: %v", m.MsgHdr)
		}
	})
}
