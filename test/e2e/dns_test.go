package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// upstreamDNS is a resolver in the outside namespace standing in for the
// node's upstream: it answers a few names outside the cluster and counts
// the questions it gets.
type upstreamDNS struct{ queries atomic.Int64 }

func startUpstream(t *testing.T, ns *netnstest.NS, addr string) *upstreamDNS {
	t.Helper()
	u := &upstreamDNS{}
	pc, err := ns.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{
		"www.outside.test.":        "10.250.1.2",
		"my.database.example.com.": "10.250.1.2",
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		u.queries.Add(1)
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		ip, ok := answers[strings.ToLower(q.Name)]
		switch {
		case !ok:
			m.Rcode = mdns.RcodeNameError
		case q.Qtype == mdns.TypeA:
			rr, _ := mdns.NewRR(q.Name + " 60 IN A " + ip)
			m.Answer = append(m.Answer, rr)
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return u
}

// useClusterDNS gives pod p the resolv.conf `svcnet resolv-conf` prints for its
// namespace; `ip netns exec` mounts it over /etc/resolv.conf.
func useClusterDNS(t *testing.T, s *server, p *testPod, namespace string) string {
	t.Helper()
	r := s.run(binary, []string{"resolv-conf", "--kubeconfig", s.kubeconfig, "-n", namespace}, "")
	if r.code != 0 {
		t.Fatalf("svcnet resolv-conf: %s", r.stderr)
	}
	dir := filepath.Join("/etc/netns", p.ns.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return r.stdout
}

// dig runs Debian's dig inside ns.
func dig(t *testing.T, ns *netnstest.NS, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := ns.Command(ctx, append([]string{"dig", "+time=2", "+tries=2"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// lines returns the non-empty lines of s, sorted.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, ";") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

func status(out string) string {
	_, after, ok := strings.Cut(out, "status: ")
	if !ok {
		return "no status in: " + out
	}
	return strings.TrimSuffix(strings.Fields(after)[0], ",")
}

func TestClusterDNS(t *testing.T) {
	netnstest.RequireRoot(t)
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed (Debian bind9-dnsutils; run ./hack/install-deps.sh)")
	}
	s := startServer(t)
	c := newCluster(t, s)
	a, b := c.nodes[0], c.nodes[1]
	upstream := startUpstream(t, c.outside, "10.250.1.2:53")
	a.startAgent("--upstream", "10.250.1.2")
	b.startAgent("--upstream", "10.250.1.2")
	cs := s.client()
	ctx := context.Background()

	// kube-dns exists at the tenth address and lists both nodes.
	kubeDNS, err := cs.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kubeDNS.Spec.ClusterIP != "10.96.0.10" {
		t.Fatalf("kube-dns ClusterIP %s, want 10.96.0.10", kubeDNS.Spec.ClusterIP)
	}
	eventually(t, 20*time.Second, func() error {
		ep, err := cs.CoreV1().Endpoints("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var ips []string
		for _, ss := range ep.Subsets {
			for _, ad := range ss.Addresses {
				ips = append(ips, ad.IP)
			}
		}
		slices.Sort(ips)
		if !slices.Equal(ips, []string{a.ip, b.ip}) {
			return fmt.Errorf("kube-dns endpoints %v", ips)
		}
		return nil
	})

	s.mustKubectl("", "create", "namespace", "core")
	apply := func(file string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(examplesDir(t), file))
		if err != nil {
			t.Fatal(err)
		}
		// The headless example also holds an extensions/v1beta1 Deployment,
		// which no server of today serves; its Service is the first document.
		doc, _, _ := strings.Cut(string(data), "\n---")
		s.mustKubectl(doc, "apply", "-f", "-")
	}
	apply("multiport-chatbot.yaml")
	apply("externalname.yaml")
	apply("headless-nginx-with-deployment.yaml")
	a.addPodIn("core", "chatbot", map[string]string{"app": "chatbot"}, 4000, 8080)
	web1 := a.addPod("nginx-1", map[string]string{"app": "nginx"})
	web2 := b.addPod("nginx-2", map[string]string{"app": "nginx"})
	coreClient := b.addPodIn("core", "client", map[string]string{"app": "client"}, 9000)
	defClient := a.addPod("dclient", map[string]string{"app": "dclient"})
	conf := useClusterDNS(t, s, coreClient, "core")
	useClusterDNS(t, s, defClient, "default")
	wantConf := "nameserver 10.96.0.10\nsearch core.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if conf != wantConf {
		t.Fatalf("resolv.conf:\n%s\nwant:\n%s", conf, wantConf)
	}
	chatbot, err := cs.CoreV1().Services("core").Get(ctx, "chatbot-svc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chatbotIP := chatbot.Spec.ClusterIP

	// The first answers arrive once the pods' queries are routed to the nodes.
	eventually(t, 20*time.Second, func() error {
		if got := lines(dig(t, coreClient.ns, "+search", "+short", "chatbot-svc")); !slices.Equal(got, []string{chatbotIP}) {
			return fmt.Errorf("chatbot-svc from core: %v", got)
		}
		return nil
	})

	cases := []struct {
		name string
		from *testPod
		args []string
		want []string // sorted +short lines
	}{
		{"short name in own namespace", coreClient, []string{"+search", "+short", "chatbot-svc"}, []string{chatbotIP}},
		{"name.namespace", defClient, []string{"+search", "+short", "chatbot-svc.core"}, []string{chatbotIP}},
		{"fully qualified", defClient, []string{"+short", "chatbot-svc.core.svc.cluster.local."}, []string{chatbotIP}},
		{"SRV of a named port", defClient, []string{"+search", "+short", "SRV", "_slack-auth._tcp.chatbot-svc.core"},
			[]string{"0 100 4000 chatbot-svc.core.svc.cluster.local."}},
		{"SRV of the other port", coreClient, []string{"+search", "+short", "SRV", "_msteams-auth._tcp.chatbot-svc"},
			[]string{"0 100 8080 chatbot-svc.core.svc.cluster.local."}},
		{"headless: one A per ready pod", defClient, []string{"+search", "+short", "nginx"}, sorted(web1.ip, web2.ip)},
		{"reverse of a ClusterIP", defClient, []string{"+short", "-x", chatbotIP}, []string{"chatbot-svc.core.svc.cluster.local."}},
		{"ExternalName: CNAME and the target's address from upstream", defClient, []string{"+search", "+short", "my-service"},
			[]string{"10.250.1.2", "my.database.example.com."}},
		{"outside name forwarded upstream", coreClient, []string{"+search", "+short", "www.outside.test"}, []string{"10.250.1.2"}},
		{"over TCP", coreClient, []string{"+tcp", "+search", "+short", "chatbot-svc"}, []string{chatbotIP}},
		{"schema version", coreClient, []string{"+short", "TXT", "dns-version.cluster.local."}, []string{`"1.1.0"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := lines(dig(t, tc.from.ns, tc.args...)); !slices.Equal(got, tc.want) {
				t.Fatalf("dig %v: %q, want %q", tc.args, got, tc.want)
			}
		})
	}

	t.Run("short name of another namespace does not resolve", func(t *testing.T) {
		if st := status(dig(t, defClient.ns, "+search", "chatbot-svc")); st != "NXDOMAIN" {
			t.Fatalf("status %s, want NXDOMAIN", st)
		}
	})
	t.Run("glibc resolver with the search list", func(t *testing.T) {
		out, err := coreClient.ns.Command(ctx, "getent", "hosts", "chatbot-svc").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), chatbotIP+" ") {
			t.Fatalf("getent hosts chatbot-svc: %v %q", err, out)
		}
	})
	t.Run("upstream answers are cached", func(t *testing.T) {
		// Queries reach either node's DNS; each asks upstream at most once.
		before := upstream.queries.Load()
		for range 5 {
			dig(t, coreClient.ns, "+short", "www.outside.test.")
		}
		if n := upstream.queries.Load() - before; n > 2 {
			t.Fatalf("upstream asked %d times for 5 questions about a cached name", n)
		}
	})
	t.Run("not an open resolver", func(t *testing.T) {
		// The outside client is on neither the node nor the pod networks.
		if st := status(dig(t, c.outside, "@"+a.ip, "www.outside.test.")); st != "REFUSED" {
			t.Fatalf("status %s, want REFUSED", st)
		}
	})
	t.Run("large answers truncate over UDP and complete over TCP", func(t *testing.T) {
		createService(t, cs, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "default"},
			Spec:       corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		})
		var eps []discoveryv1.Endpoint
		for i := 1; i <= 200; i++ {
			eps = append(eps, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.%d.%d", 100+i/100, i%100+1)},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		_, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "big-manual", Labels: map[string]string{discoveryv1.LabelServiceName: "big"}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
			Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: ptr.To(corev1.ProtocolTCP)}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, func() error {
			if n := len(lines(dig(t, defClient.ns, "+search", "+short", "big"))); n != 200 {
				return fmt.Errorf("%d addresses over TCP, want 200", n)
			}
			return nil
		})
		udp := dig(t, defClient.ns, "+search", "+ignore", "+noall", "+comments", "big")
		if !strings.Contains(udp, " tc") {
			t.Fatalf("UDP answer not truncated:\n%s", udp)
		}
	})
	t.Run("changes are visible within a second", func(t *testing.T) {
		pod, err := cs.CoreV1().Pods("default").Get(ctx, "nginx-2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		start := time.Now()
		if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, func() error {
			if got := lines(dig(t, defClient.ns, "+search", "+short", "nginx")); !slices.Equal(got, []string{web1.ip}) {
				return fmt.Errorf("nginx: %v", got)
			}
			return nil
		})
		t.Logf("unready pod left the answers after %v", time.Since(start))
		start = time.Now()
		if err := cs.CoreV1().Services("core").Delete(ctx, "chatbot-svc", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, func() error {
			if st := status(dig(t, coreClient.ns, "chatbot-svc.core.svc.cluster.local.")); st != "NXDOMAIN" {
				return fmt.Errorf("status %s", st)
			}
			return nil
		})
		t.Logf("deleted Service gone from DNS after %v", time.Since(start))
	})
	t.Run("readiness and metrics", func(t *testing.T) {
		code, _, err := httpGet(a.ns, "http://127.0.0.1:10256/readyz")
		if err != nil || code != 200 {
			t.Fatalf("/readyz: %d %v", code, err)
		}
		_, body, err := httpGet(a.ns, "http://127.0.0.1:10249/metrics")
		if err != nil || !strings.Contains(body, `svcnet_dns_responses_total{qtype="A",rcode="NOERROR"}`) {
			t.Fatalf("/metrics without DNS responses: %v", err)
		}
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
