package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQueryRoundTrip(t *testing.T) {
	q, err := packQuery(7, "svc-00001.ns-01.svc.cluster.local.", typeA)
	if err != nil {
		t.Fatal(err)
	}
	// A reply: the question echoed, then an A record whose name points at it
	// (compression), then a PTR whose target is compressed too.
	m := append([]byte(nil), q...)
	m[2], m[3] = 0x81, 0x80 // QR RD RA, NOERROR
	m[7] = 2                // ANCOUNT
	m = append(m, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 10)
	m = append(m, 0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 30, 0, 2, 0xc0, 12)
	r, err := parseReply(m)
	if err != nil {
		t.Fatal(err)
	}
	if r.rcode != rcodeSuccess || !slices.Equal(r.of(typeA), []string{"10.96.0.10"}) ||
		!slices.Equal(r.of(typePTR), []string{"svc-00001.ns-01.svc.cluster.local."}) {
		t.Errorf("parseReply = %+v", r)
	}
	if _, err := parseReply(m[:len(m)-3]); err == nil {
		t.Error("parseReply accepted a truncated message")
	}
	if _, err := packQuery(1, "a..b", typeA); err == nil {
		t.Error("packQuery accepted an empty label")
	}
	if got := reverseName("10.96.1.2"); got != "2.1.96.10.in-addr.arpa." {
		t.Errorf("reverseName = %s", got)
	}
}

func TestParseDnsperf(t *testing.T) {
	out := `DNS Performance Testing Tool
[Status] Command line: dnsperf -s 127.0.0.1
> NOERROR svc-00001.ns-01.svc.cluster.local A 0.000400
> NOERROR svc-00002.ns-02.svc.cluster.local A 0.000100
> NXDOMAIN missing-1.ns-01.svc.cluster.local A 0.000300
> T svc-00003.ns-03.svc.cluster.local A
> NOERROR svc-00004.ns-04.svc.cluster.local A 0.000200
Statistics:

  Queries sent:         5
  Queries completed:    4 (80.00%)
  Queries lost:         1 (20.00%)

  Response codes:       NOERROR 3 (75.00%), NXDOMAIN 1 (25.00%)
  Run time (s):         1.000000
  Queries per second:   4.000000

  Average Latency (s):  0.000250 (min 0.000100, max 0.000400)
`
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := parseDnsperf(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.sent != 5 || p.completed != 4 || p.lost != 1 || p.qps != 4 || p.rcodes["NOERROR"] != 3 || p.rcodes["NXDOMAIN"] != 1 {
		t.Errorf("parseDnsperf = %+v", p)
	}
	if p.p50 != 200*time.Microsecond || p.p99 != 400*time.Microsecond {
		t.Errorf("p50 %v p99 %v, want 200us 400us", p.p50, p.p99)
	}
}

func TestLayout(t *testing.T) {
	l := layout{services: 20, pods: 100, namespaces: 4, nodes: 3, headlessEvery: 10}
	seen := map[string]bool{}
	for i := range l.services {
		for _, g := range l.podsOf(i) {
			if l.pod(g).Labels["app"] != l.serviceName(i) || l.pod(g).Namespace != l.namespace(i) {
				t.Fatalf("pod %d is not Service %d's", g, i)
			}
			if ip := podIP(g); seen[ip] {
				t.Fatalf("pod IP %s twice", ip)
			} else {
				seen[ip] = true
			}
		}
	}
	if len(seen) != l.pods || !l.headless(9) || l.headless(10) || l.service(19).Spec.ClusterIP != "None" {
		t.Errorf("layout: %d pods, headless(9)=%v", len(seen), l.headless(9))
	}
	if got := corefile("coredns-cache", 53, 8181, 9153, "/k"); !strings.Contains(got, "cache 30") || !strings.Contains(got, "prometheus 127.0.0.1:9153") {
		t.Errorf("corefile:\n%s", got)
	}
	if got := corefile("coredns-bare", 53, 8181, 9153, "/k"); strings.Contains(got, "prometheus") || strings.Contains(got, "cache") {
		t.Errorf("bare corefile:\n%s", got)
	}
}
