package dns

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// specFixture is the cluster of the DNS reference's example table
// (../shared/refs/dns-and-env.md §1.9).
func specFixture(ix *Index) {
	a := netip.MustParseAddr
	for _, ns := range []string{"default", "prod", "kube-system"} {
		ix.SetNamespace(ns)
	}
	ix.SetService(&Service{Namespace: "default", Name: "kubernetes", ClusterIPs: []netip.Addr{a("10.96.0.1")},
		Ports: []Port{{"https", "tcp", 443}}})
	ix.SetService(&Service{Namespace: "kube-system", Name: "kube-dns", ClusterIPs: []netip.Addr{a("10.96.0.10")},
		Ports: []Port{{"dns", "udp", 53}, {"dns-tcp", "tcp", 53}}})
	ix.SetService(&Service{Namespace: "prod", Name: "web", ClusterIPs: []netip.Addr{a("10.96.10.20")},
		Ports: []Port{{"", "tcp", 80}}})
	ix.SetService(&Service{Namespace: "prod", Name: "api", ClusterIPs: []netip.Addr{a("10.96.10.21")},
		Ports: []Port{{"http", "tcp", 80}, {"dns", "udp", 53}}})
	ix.SetService(&Service{Namespace: "prod", Name: "ds", ClusterIPs: []netip.Addr{a("10.96.30.30"), a("fd00::30")},
		Ports: []Port{{"http", "tcp", 80}}})
	ix.SetService(&Service{Namespace: "prod", Name: "v6", ClusterIPs: []netip.Addr{a("fd00::a")},
		Ports: []Port{{"http", "tcp", 80}}})
	ix.SetService(&Service{Namespace: "prod", Name: "db", Headless: true, Ports: []Port{{"pg", "tcp", 5432}}})
	ix.SetSlice(&Slice{Namespace: "prod", Name: "db-abc", Service: "db", Ports: []Port{{"pg", "tcp", 5432}},
		Endpoints: []Endpoint{
			{Addrs: []netip.Addr{a("10.244.1.10")}, Hostname: "db-0", Ready: true},
			{Addrs: []netip.Addr{a("10.244.2.11")}, Hostname: "db-1", Ready: true},
			{Addrs: []netip.Addr{a("10.244.3.12")}, Hostname: "db-2", Ready: false},
		}})
	ix.SetService(&Service{Namespace: "prod", Name: "peers", Headless: true, PublishNotReadyAddresses: true,
		Ports: []Port{{"gossip", "udp", 7946}}})
	ix.SetSlice(&Slice{Namespace: "prod", Name: "peers-x", Service: "peers", Ports: []Port{{"gossip", "udp", 7946}},
		Endpoints: []Endpoint{{Addrs: []netip.Addr{a("10.244.5.5")}, Ready: false}}})
	ix.SetService(&Service{Namespace: "prod", Name: "empty", Headless: true})
	ix.SetService(&Service{Namespace: "prod", Name: "ext", ExternalName: "www.example.com"})
	ix.SetService(&Service{Namespace: "prod", Name: "extip", ExternalName: "192.0.2.9"})
	ix.SetService(&Service{Namespace: "prod", Name: "alias", ExternalName: "API.prod.svc.cluster.local"})
	ix.SetService(&Service{Namespace: "prod", Name: "default-subdomain", Headless: true})
	ix.SetSlice(&Slice{Namespace: "prod", Name: "ds-1", Service: "default-subdomain",
		Endpoints: []Endpoint{{Addrs: []netip.Addr{a("10.244.7.7")}, Hostname: "busybox-1", Ready: true}}})
	ix.SetPod(Pod{Namespace: "prod", Name: "busybox1", IPs: []netip.Addr{a("10.244.7.7")}})
}

// startServer serves ix on a loopback port and returns its address.
func startServer(t *testing.T, ix *Index, cfg Config, fwd *Forwarder) string {
	t.Helper()
	h := NewHandler(ix, cfg, fwd, nil)
	h.SetReady()
	srv := NewServer(h, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, nil)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addrs()[0].String()
}

func ask(t *testing.T, addr, name string, qtype uint16, net string) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	c := &mdns.Client{Net: net, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, mdns.TypeToString[qtype], err)
	}
	return r
}

// rrs renders records without their TTLs, sorted, for comparison.
func rrs(section []mdns.RR) []string {
	var out []string
	for _, rr := range section {
		f := strings.Fields(rr.String())
		// name ttl class type data...
		out = append(out, strings.Join(append([]string{f[0]}, f[2:]...), " "))
	}
	slices.Sort(out)
	return out
}

func TestSpecificationQueries(t *testing.T) {
	ix := NewIndex("cluster.local")
	specFixture(ix)
	addr := startServer(t, ix, Config{TTL: 30, Pods: PodsVerified}, nil)
	const Z = "cluster.local."
	nodata, nxdomain := []string{}, []string(nil)
	cases := []struct {
		name   string
		q      string
		qtype  uint16
		want   []string // answer section; nil: NXDOMAIN; empty: NODATA
		extra  []string // additional section (without OPT), when checked
		rcode  int      // when neither NOERROR nor NXDOMAIN
		soaNeg bool
	}{
		{name: "1 schema version", q: "dns-version." + Z, qtype: mdns.TypeTXT, want: []string{`dns-version.cluster.local. IN TXT "1.1.0"`}},
		{name: "2 ClusterIP A", q: "kubernetes.default.svc." + Z, qtype: mdns.TypeA, want: []string{"kubernetes.default.svc.cluster.local. IN A 10.96.0.1"}},
		{name: "3 AAAA of IPv4 Service is NODATA", q: "kubernetes.default.svc." + Z, qtype: mdns.TypeAAAA, want: nodata},
		{name: "4 case-insensitive, owner as asked", q: "KUBERNETES.Default.SVC.Cluster.Local.", qtype: mdns.TypeA, want: []string{"KUBERNETES.Default.SVC.Cluster.Local. IN A 10.96.0.1"}},
		{name: "5 SRV of named port", q: "_https._tcp.kubernetes.default.svc." + Z, qtype: mdns.TypeSRV,
			want:  []string{"_https._tcp.kubernetes.default.svc.cluster.local. IN SRV 0 100 443 kubernetes.default.svc.cluster.local."},
			extra: []string{"kubernetes.default.svc.cluster.local. IN A 10.96.0.1"}},
		{name: "6 PTR of ClusterIP", q: "1.0.96.10.in-addr.arpa.", qtype: mdns.TypePTR, want: []string{"1.0.96.10.in-addr.arpa. IN PTR kubernetes.default.svc.cluster.local."}},
		{name: "7 unnamed-port Service A", q: "web.prod.svc." + Z, qtype: mdns.TypeA, want: []string{"web.prod.svc.cluster.local. IN A 10.96.10.20"}},
		{name: "8 no SRV for unnamed port", q: "_http._tcp.web.prod.svc." + Z, qtype: mdns.TypeSRV, want: nxdomain},
		{name: "9 SRV gives the service port", q: "_http._tcp.api.prod.svc." + Z, qtype: mdns.TypeSRV, want: []string{"_http._tcp.api.prod.svc.cluster.local. IN SRV 0 100 80 api.prod.svc.cluster.local."}},
		{name: "10 SRV of a UDP port", q: "_dns._udp.api.prod.svc." + Z, qtype: mdns.TypeSRV, want: []string{"_dns._udp.api.prod.svc.cluster.local. IN SRV 0 100 53 api.prod.svc.cluster.local."}},
		{name: "11 SRV protocol mismatch", q: "_http._udp.api.prod.svc." + Z, qtype: mdns.TypeSRV, want: nxdomain},
		{name: "12 dual-stack A", q: "ds.prod.svc." + Z, qtype: mdns.TypeA, want: []string{"ds.prod.svc.cluster.local. IN A 10.96.30.30"}},
		{name: "12 dual-stack AAAA", q: "ds.prod.svc." + Z, qtype: mdns.TypeAAAA, want: []string{"ds.prod.svc.cluster.local. IN AAAA fd00::30"}},
		{name: "13 IPv6 AAAA", q: "v6.prod.svc." + Z, qtype: mdns.TypeAAAA, want: []string{"v6.prod.svc.cluster.local. IN AAAA fd00::a"}},
		{name: "13 IPv6 Service A is NODATA", q: "v6.prod.svc." + Z, qtype: mdns.TypeA, want: nodata},
		{name: "14 IPv6 PTR", q: "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", qtype: mdns.TypePTR,
			want: []string{"a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. IN PTR v6.prod.svc.cluster.local."}},
		{name: "15 headless A: ready endpoints only", q: "db.prod.svc." + Z, qtype: mdns.TypeA,
			want: []string{"db.prod.svc.cluster.local. IN A 10.244.1.10", "db.prod.svc.cluster.local. IN A 10.244.2.11"}},
		{name: "16 per-hostname A", q: "db-0.db.prod.svc." + Z, qtype: mdns.TypeA, want: []string{"db-0.db.prod.svc.cluster.local. IN A 10.244.1.10"}},
		{name: "17 not-ready hostname is NXDOMAIN", q: "db-2.db.prod.svc." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "18 headless SRV targets endpoints", q: "_pg._tcp.db.prod.svc." + Z, qtype: mdns.TypeSRV,
			want: []string{"_pg._tcp.db.prod.svc.cluster.local. IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local.",
				"_pg._tcp.db.prod.svc.cluster.local. IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local."},
			extra: []string{"db-0.db.prod.svc.cluster.local. IN A 10.244.1.10", "db-1.db.prod.svc.cluster.local. IN A 10.244.2.11"}},
		{name: "19 PTR of endpoint", q: "10.1.244.10.in-addr.arpa.", qtype: mdns.TypePTR, want: []string{"10.1.244.10.in-addr.arpa. IN PTR db-0.db.prod.svc.cluster.local."}},
		{name: "20 publishNotReadyAddresses", q: "peers.prod.svc." + Z, qtype: mdns.TypeA, want: []string{"peers.prod.svc.cluster.local. IN A 10.244.5.5"}},
		{name: "21 SRV target without hostname is the dashed IP", q: "_gossip._udp.peers.prod.svc." + Z, qtype: mdns.TypeSRV,
			want: []string{"_gossip._udp.peers.prod.svc.cluster.local. IN SRV 0 100 7946 10-244-5-5.peers.prod.svc.cluster.local."}},
		{name: "22 dashed-IP endpoint name", q: "10-244-5-5.peers.prod.svc." + Z, qtype: mdns.TypeA, want: []string{"10-244-5-5.peers.prod.svc.cluster.local. IN A 10.244.5.5"}},
		{name: "23 headless without endpoints", q: "empty.prod.svc." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "24 ExternalName A", q: "ext.prod.svc." + Z, qtype: mdns.TypeA, want: []string{"ext.prod.svc.cluster.local. IN CNAME www.example.com."}},
		{name: "25 ExternalName CNAME", q: "ext.prod.svc." + Z, qtype: mdns.TypeCNAME, want: []string{"ext.prod.svc.cluster.local. IN CNAME www.example.com."}},
		{name: "ExternalName to a cluster Service: its address too", q: "alias.prod.svc." + Z, qtype: mdns.TypeA,
			want: []string{"alias.prod.svc.cluster.local. IN CNAME api.prod.svc.cluster.local.", "api.prod.svc.cluster.local. IN A 10.96.10.21"}},
		{name: "ExternalName IP literal makes no record", q: "extip.prod.svc." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "ExternalName has no SRV", q: "_http._tcp.ext.prod.svc." + Z, qtype: mdns.TypeSRV, want: nxdomain},
		{name: "26 hostname.subdomain pod name", q: "busybox-1.default-subdomain.prod.svc." + Z, qtype: mdns.TypeA,
			want: []string{"busybox-1.default-subdomain.prod.svc.cluster.local. IN A 10.244.7.7"}},
		{name: "27 pod A (verified)", q: "10-244-7-7.prod.pod." + Z, qtype: mdns.TypeA, want: []string{"10-244-7-7.prod.pod.cluster.local. IN A 10.244.7.7"}},
		{name: "28 pod A in the wrong namespace (verified)", q: "10-244-7-7.default.pod." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "pod in a missing namespace", q: "10-244-7-7.nosuchns.pod." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "29 unknown Service", q: "nosuch.prod.svc." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "30 namespace name is NODATA", q: "prod.svc." + Z, qtype: mdns.TypeA, want: nodata},
		{name: "31 missing namespace", q: "nosuchns.svc." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "32 other type on a Service is NODATA", q: "web.prod.svc." + Z, qtype: mdns.TypeTXT, want: nodata},
		{name: "HINFO on a Service is NODATA", q: "web.prod.svc." + Z, qtype: mdns.TypeHINFO, want: nodata},
		{name: "33 too many labels", q: "x.y.z.web.prod.svc." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "34 second label must be svc or pod", q: "web.prod." + Z, qtype: mdns.TypeA, want: nxdomain},
		{name: "35 zone SOA", q: Z, qtype: mdns.TypeSOA, want: []string{"cluster.local. IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 30"}},
		{name: "35 zone NS", q: Z, qtype: mdns.TypeNS, want: []string{"cluster.local. IN NS ns.dns.cluster.local."},
			extra: []string{"ns.dns.cluster.local. IN A 10.96.0.10"}},
		{name: "zone apex A is NODATA", q: Z, qtype: mdns.TypeA, want: nodata},
		{name: "svc.<zone> is NODATA", q: "svc." + Z, qtype: mdns.TypeA, want: nodata},
		{name: "empty non-terminal _tcp is NXDOMAIN", q: "_tcp.api.prod.svc." + Z, qtype: mdns.TypeSRV, want: nxdomain},
		{name: "SRV of the service name lists every port", q: "api.prod.svc." + Z, qtype: mdns.TypeSRV,
			want: []string{"api.prod.svc.cluster.local. IN SRV 0 50 53 api.prod.svc.cluster.local.", "api.prod.svc.cluster.local. IN SRV 0 50 80 api.prod.svc.cluster.local."}},
		{name: "unknown reverse name without upstream is refused", q: "9.9.9.10.in-addr.arpa.", qtype: mdns.TypePTR, rcode: mdns.RcodeRefused},
		{name: "outside names without upstream are refused", q: "example.org.", qtype: mdns.TypeA, rcode: mdns.RcodeRefused},
		{name: "AXFR is refused", q: Z, qtype: mdns.TypeAXFR, rcode: mdns.RcodeRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ask(t, addr, tc.q, tc.qtype, "udp")
			if tc.rcode != 0 {
				if r.Rcode != tc.rcode {
					t.Fatalf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tc.rcode])
				}
				return
			}
			if r.Id == 0 || !r.Response || len(r.Question) != 1 || r.Question[0].Name != tc.q {
				t.Fatalf("bad header or question: %v", r)
			}
			got := rrs(r.Answer)
			for i, s := range got {
				if strings.Contains(s, " SOA ") {
					f := strings.Fields(s)
					f[5] = "SERIAL"
					got[i] = strings.Join(f, " ")
				}
			}
			switch {
			case tc.want == nil:
				if r.Rcode != mdns.RcodeNameError || len(r.Answer) != 0 {
					t.Fatalf("want NXDOMAIN, got %s %v", mdns.RcodeToString[r.Rcode], got)
				}
			case len(tc.want) == 0:
				if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
					t.Fatalf("want NODATA, got %s %v", mdns.RcodeToString[r.Rcode], got)
				}
			default:
				if r.Rcode != mdns.RcodeSuccess || !slices.Equal(got, tc.want) {
					t.Fatalf("got %s %q\nwant %q", mdns.RcodeToString[r.Rcode], got, tc.want)
				}
				if !r.Authoritative {
					t.Errorf("answer not authoritative")
				}
			}
			if len(tc.want) == 0 { // 36: negative answers carry the SOA, minimum = TTL
				if len(r.Ns) != 1 {
					t.Fatalf("negative answer without SOA: %v", r.Ns)
				}
				soa, ok := r.Ns[0].(*mdns.SOA)
				if !ok || soa.Minttl != 30 || soa.Hdr.Ttl != 30 || soa.Ns != "ns.dns.cluster.local." {
					t.Fatalf("authority %v", r.Ns)
				}
			}
			if tc.extra != nil {
				if got := rrs(r.Extra); !slices.Equal(got, tc.extra) {
					t.Fatalf("additional %q, want %q", got, tc.extra)
				}
			}
			if len(r.Answer) > 0 && r.Answer[0].Header().Rrtype != mdns.TypeTXT && r.Answer[0].Header().Ttl != 30 {
				t.Errorf("ttl %d, want 30", r.Answer[0].Header().Ttl)
			}
		})
	}
}

// TestAnswersWhileTheIndexChanges queries over UDP and TCP while another
// goroutine rewrites the Services being asked about (run with -race).
func TestAnswersWhileTheIndexChanges(t *testing.T) {
	ix := NewIndex("cluster.local")
	specFixture(ix)
	addr := startServer(t, ix, Config{TTL: 30}, nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ip := netip.AddrFrom4([4]byte{10, 96, 20, byte(i)})
			ix.SetService(&Service{Namespace: "prod", Name: "churn", ClusterIPs: []netip.Addr{ip}, Ports: []Port{{"http", "tcp", 80}}})
			ix.SetSlice(&Slice{Namespace: "prod", Name: "churn-1", Service: "churn",
				Endpoints: []Endpoint{{Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 244, 20, byte(i)})}, Ready: i%2 == 0}}})
			if i%7 == 0 {
				ix.DeleteService("prod", "churn")
			}
		}
	}()
	for i := range 200 {
		network := "udp"
		if i%4 == 0 {
			network = "tcp"
		}
		r := ask(t, addr, "churn.prod.svc.cluster.local.", mdns.TypeA, network)
		if r.Rcode != mdns.RcodeSuccess && r.Rcode != mdns.RcodeNameError {
			t.Fatalf("rcode %s", mdns.RcodeToString[r.Rcode])
		}
		if r.Rcode == mdns.RcodeSuccess && len(r.Answer) != 1 {
			t.Fatalf("answer %v", r.Answer)
		}
	}
	close(stop)
	<-done
}
