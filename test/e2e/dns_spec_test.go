package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestDNSSpecificationTable builds the DNS reference's example cluster
// (../shared/refs/dns-and-env.md §1.9, its IPv4 rows) through the API, runs a
// real `svcnet agent --proxy-mode=none` serving DNS on loopback, and asks every
// question of the table with both dig and miekg/dns.
func TestDNSSpecificationTable(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed (Debian bind9-dnsutils; run ./hack/install-deps.sh)")
	}
	s := startServer(t)
	cs := s.client()
	ctx := context.Background()

	// An upstream on loopback that knows nothing, so the ExternalName target is
	// chased without leaving the machine.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetRcode(r, mdns.RcodeNameError)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = up.ActivateAndServe() }()
	t.Cleanup(func() { _ = up.Shutdown() })

	dnsPort := freePort(t)
	agent := exec.Command(binary, "agent", "--proxy-mode=none", "--kubeconfig", s.kubeconfig,
		"--node-name", "dns-node", "--node-ip", "127.0.0.1",
		"--dns-bind-address", "127.0.0.1", "--dns-port", strconv.Itoa(dnsPort), "--upstream", pc.LocalAddr().String(),
		"--healthz-bind-address", "", "--metrics-bind-address", "")
	logs := &syncBuffer{}
	agent.Stdout, agent.Stderr = logs, logs
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopGroup(agent, 10*time.Second)
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs.String())
		}
	})
	server := "127.0.0.1:" + strconv.Itoa(dnsPort)

	// The fixture.
	s.mustKubectl("", "create", "namespace", "prod")
	svc := func(name string, mutate func(*corev1.ServiceSpec)) {
		t.Helper()
		o := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"}}
		mutate(&o.Spec)
		if _, err := cs.CoreV1().Services("prod").Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slice := func(name, service string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) {
		t.Helper()
		_, err := cs.DiscoveryV1().EndpointSlices("prod").Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps, Ports: ports,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	ep := func(ip, hostname string, ready bool) discoveryv1.Endpoint {
		e := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)}}
		if hostname != "" {
			e.Hostname = ptr.To(hostname)
		}
		return e
	}
	port := func(name string, p int32, proto corev1.Protocol) []discoveryv1.EndpointPort {
		return []discoveryv1.EndpointPort{{Name: ptr.To(name), Port: ptr.To(p), Protocol: ptr.To(proto)}}
	}
	svc("web", func(sp *corev1.ServiceSpec) {
		sp.ClusterIP = "10.96.10.20"
		sp.Ports = []corev1.ServicePort{{Port: 80}}
	})
	svc("api", func(sp *corev1.ServiceSpec) {
		sp.ClusterIP = "10.96.10.21"
		sp.Ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}
	})
	svc("db", func(sp *corev1.ServiceSpec) {
		sp.ClusterIP = "None"
		sp.Ports = []corev1.ServicePort{{Name: "pg", Port: 5432}}
	})
	slice("db-abc", "db", port("pg", 5432, corev1.ProtocolTCP),
		ep("10.244.1.10", "db-0", true), ep("10.244.2.11", "db-1", true), ep("10.244.3.12", "db-2", false))
	svc("peers", func(sp *corev1.ServiceSpec) {
		sp.ClusterIP = "None"
		sp.PublishNotReadyAddresses = true
		sp.Ports = []corev1.ServicePort{{Name: "gossip", Port: 7946, Protocol: corev1.ProtocolUDP}}
	})
	slice("peers-x", "peers", port("gossip", 7946, corev1.ProtocolUDP), ep("10.244.5.5", "", false))
	svc("empty", func(sp *corev1.ServiceSpec) { sp.ClusterIP = "None"; sp.Ports = []corev1.ServicePort{{Port: 80}} })
	svc("ext", func(sp *corev1.ServiceSpec) {
		sp.Type = corev1.ServiceTypeExternalName
		sp.ExternalName = "www.example.com"
	})
	svc("default-subdomain", func(sp *corev1.ServiceSpec) {
		sp.ClusterIP = "None"
		sp.Selector = map[string]string{"name": "busybox"}
		sp.Ports = []corev1.ServicePort{{Name: "foo", Port: 1234}}
	})
	// busybox1 gets its record from the EndpointSlice controller (hostname +
	// subdomain = the headless Service). Its node is the agent's.
	eventually(t, 20*time.Second, func() error {
		_, err := cs.CoreV1().Nodes().Get(ctx, "dns-node", metav1.GetOptions{})
		return err
	})
	pod, err := cs.CoreV1().Pods("prod").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "busybox1", Labels: map[string]string{"name": "busybox"}},
		Spec: corev1.PodSpec{Hostname: "busybox-1", Subdomain: "default-subdomain", NodeName: "dns-node",
			Containers: []corev1.Container{{Name: "busybox", Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: 1234}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.7.7", PodIPs: []corev1.PodIP{{IP: "10.244.7.7"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if _, err := cs.CoreV1().Pods("prod").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	const Z = "cluster.local."
	nx := []string(nil)
	nodata := []string{}
	cases := []struct {
		n     string
		q     string
		qtype uint16
		want  []string // answer RRs without TTL; nil: NXDOMAIN; empty: NODATA
	}{
		{"1", "dns-version." + Z, mdns.TypeTXT, []string{`dns-version.cluster.local. IN TXT "1.1.0"`}},
		{"2", "kubernetes.default.svc." + Z, mdns.TypeA, []string{"kubernetes.default.svc.cluster.local. IN A 10.96.0.1"}},
		{"3", "kubernetes.default.svc." + Z, mdns.TypeAAAA, nodata},
		{"4", "KUBERNETES.Default.Svc.Cluster.Local.", mdns.TypeA, []string{"KUBERNETES.Default.Svc.Cluster.Local. IN A 10.96.0.1"}},
		{"5", "_https._tcp.kubernetes.default.svc." + Z, mdns.TypeSRV, []string{"_https._tcp.kubernetes.default.svc.cluster.local. IN SRV 0 100 443 kubernetes.default.svc.cluster.local."}},
		{"6", "1.0.96.10.in-addr.arpa.", mdns.TypePTR, []string{"1.0.96.10.in-addr.arpa. IN PTR kubernetes.default.svc.cluster.local."}},
		{"7", "web.prod.svc." + Z, mdns.TypeA, []string{"web.prod.svc.cluster.local. IN A 10.96.10.20"}},
		{"8", "_http._tcp.web.prod.svc." + Z, mdns.TypeSRV, nx},
		{"9", "_http._tcp.api.prod.svc." + Z, mdns.TypeSRV, []string{"_http._tcp.api.prod.svc.cluster.local. IN SRV 0 100 80 api.prod.svc.cluster.local."}},
		{"10", "_dns._udp.api.prod.svc." + Z, mdns.TypeSRV, []string{"_dns._udp.api.prod.svc.cluster.local. IN SRV 0 100 53 api.prod.svc.cluster.local."}},
		{"11", "_http._udp.api.prod.svc." + Z, mdns.TypeSRV, nx},
		{"15", "db.prod.svc." + Z, mdns.TypeA, []string{"db.prod.svc.cluster.local. IN A 10.244.1.10", "db.prod.svc.cluster.local. IN A 10.244.2.11"}},
		{"16", "db-0.db.prod.svc." + Z, mdns.TypeA, []string{"db-0.db.prod.svc.cluster.local. IN A 10.244.1.10"}},
		{"17", "db-2.db.prod.svc." + Z, mdns.TypeA, nx},
		{"18", "_pg._tcp.db.prod.svc." + Z, mdns.TypeSRV, []string{"_pg._tcp.db.prod.svc.cluster.local. IN SRV 0 50 5432 db-0.db.prod.svc.cluster.local.", "_pg._tcp.db.prod.svc.cluster.local. IN SRV 0 50 5432 db-1.db.prod.svc.cluster.local."}},
		{"19", "10.1.244.10.in-addr.arpa.", mdns.TypePTR, []string{"10.1.244.10.in-addr.arpa. IN PTR db-0.db.prod.svc.cluster.local."}},
		{"20", "peers.prod.svc." + Z, mdns.TypeA, []string{"peers.prod.svc.cluster.local. IN A 10.244.5.5"}},
		{"21", "_gossip._udp.peers.prod.svc." + Z, mdns.TypeSRV, []string{"_gossip._udp.peers.prod.svc.cluster.local. IN SRV 0 100 7946 10-244-5-5.peers.prod.svc.cluster.local."}},
		{"22", "10-244-5-5.peers.prod.svc." + Z, mdns.TypeA, []string{"10-244-5-5.peers.prod.svc.cluster.local. IN A 10.244.5.5"}},
		{"23", "empty.prod.svc." + Z, mdns.TypeA, nx},
		{"24", "ext.prod.svc." + Z, mdns.TypeA, []string{"ext.prod.svc.cluster.local. IN CNAME www.example.com."}},
		{"25", "ext.prod.svc." + Z, mdns.TypeCNAME, []string{"ext.prod.svc.cluster.local. IN CNAME www.example.com."}},
		{"26", "busybox-1.default-subdomain.prod.svc." + Z, mdns.TypeA, []string{"busybox-1.default-subdomain.prod.svc.cluster.local. IN A 10.244.7.7"}},
		{"27", "10-244-7-7.prod.pod." + Z, mdns.TypeA, []string{"10-244-7-7.prod.pod.cluster.local. IN A 10.244.7.7"}},
		{"28", "10-244-7-7.default.pod." + Z, mdns.TypeA, nx},
		{"29", "nosuch.prod.svc." + Z, mdns.TypeA, nx},
		{"30", "prod.svc." + Z, mdns.TypeA, nodata},
		{"31", "nosuchns.svc." + Z, mdns.TypeA, nx},
		{"32", "web.prod.svc." + Z, mdns.TypeTXT, nodata},
		{"33", "x.y.z.web.prod.svc." + Z, mdns.TypeA, nx},
		{"34", "web.prod." + Z, mdns.TypeA, nx},
		{"35", Z, mdns.TypeNS, []string{"cluster.local. IN NS ns.dns.cluster.local."}},
	}
	// Wait for the last object of the fixture to be answered.
	eventually(t, 20*time.Second, func() error {
		r, err := exchange(server, "busybox-1.default-subdomain.prod.svc."+Z, mdns.TypeA)
		if err != nil {
			return err
		}
		if len(r.Answer) != 1 {
			return fmt.Errorf("busybox-1: %s %v", mdns.RcodeToString[r.Rcode], r.Answer)
		}
		return nil
	})
	for _, tc := range cases {
		t.Run(tc.n+" "+tc.q+" "+mdns.TypeToString[tc.qtype], func(t *testing.T) {
			check := func(client string, rcode int, answer []string, soa bool) {
				t.Helper()
				switch {
				case tc.want == nil && rcode != mdns.RcodeNameError:
					t.Errorf("%s: %s %q, want NXDOMAIN", client, mdns.RcodeToString[rcode], answer)
				case tc.want != nil && rcode != mdns.RcodeSuccess:
					t.Errorf("%s: %s, want NOERROR", client, mdns.RcodeToString[rcode])
				case tc.want != nil && !slices.Equal(answer, tc.want) && !(len(answer) == 0 && len(tc.want) == 0):
					t.Errorf("%s: %q, want %q", client, answer, tc.want)
				case len(tc.want) == 0 && !soa:
					t.Errorf("%s: negative answer without the zone's SOA", client)
				}
			}
			r, err := exchange(server, tc.q, tc.qtype)
			if err != nil {
				t.Fatal(err)
			}
			check("miekg/dns", r.Rcode, rrLines(r.Answer), len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == mdns.TypeSOA)
			out, err := exec.Command("dig", "@127.0.0.1", "-p", strconv.Itoa(dnsPort), "+time=2", "+tries=1", "+noall", "+comments", "+answer", "+authority",
				tc.q, mdns.TypeToString[tc.qtype]).CombinedOutput()
			if err != nil {
				t.Fatalf("dig: %v\n%s", err, out)
			}
			rcode, answer, soa := parseDig(string(out))
			check("dig", rcode, answer, soa)
		})
	}
}

func exchange(server, name string, qtype uint16) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	c := &mdns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, server)
	return r, err
}

// rrLines renders records as "owner class type data", sorted.
func rrLines(rrs []mdns.RR) []string {
	var out []string
	for _, rr := range rrs {
		f := strings.Fields(rr.String())
		out = append(out, strings.Join(append([]string{f[0]}, f[2:]...), " "))
	}
	slices.Sort(out)
	return out
}

// parseDig reads the status, the answer records (without TTL, sorted) and
// whether the authority section holds an SOA from dig's output.
func parseDig(out string) (rcode int, answer []string, soa bool) {
	rcode = -1
	section := ""
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "status: "):
			_, after, _ := strings.Cut(l, "status: ")
			rcode = mdns.StringToRcode[strings.TrimSuffix(strings.Fields(after)[0], ",")]
		case strings.HasPrefix(l, ";; ANSWER SECTION"):
			section = "answer"
		case strings.HasPrefix(l, ";; AUTHORITY SECTION"):
			section = "authority"
		case strings.HasPrefix(l, ";") || strings.TrimSpace(l) == "":
		default:
			f := strings.Fields(l)
			if len(f) < 4 {
				continue
			}
			if section == "answer" {
				answer = append(answer, strings.Join(append([]string{f[0]}, f[2:]...), " "))
			} else if section == "authority" && f[3] == "SOA" {
				soa = true
			}
		}
	}
	slices.Sort(answer)
	return rcode, answer, soa
}
