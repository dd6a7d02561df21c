package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// createService creates svc in default and returns it as stored (with its
// ClusterIP and node ports).
func createService(t *testing.T, cs kubernetes.Interface, svc *corev1.Service) *corev1.Service {
	t.Helper()
	out, err := cs.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func echoService(name string, app string, mutate func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": app},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
	}}
	if mutate != nil {
		mutate(svc)
	}
	return svc
}

// reach asks addr from ns until it answers (the agent may not have programmed
// it yet) and returns the answer.
func reach(t *testing.T, ns *netnstest.NS, network, addr string) netnstest.Answer {
	t.Helper()
	var a netnstest.Answer
	eventually(t, 15*time.Second, func() (err error) {
		a, err = ns.Ask(context.Background(), network, addr, time.Second)
		return err
	})
	return a
}

// spread asks addr n times and counts the answers by pod name.
func spread(t *testing.T, ns *netnstest.NS, network, addr string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		a, err := ns.Ask(context.Background(), network, addr, 2*time.Second)
		if err != nil {
			t.Fatalf("ask %s %s: %v", network, addr, err)
		}
		seen[a.Name]++
	}
	return seen
}

// TestDataPlane runs two nodes with real agents and sends real TCP and UDP traffic
// through every kind of Service address.
func TestDataPlane(t *testing.T) {
	netnstest.RequireRoot(t)
	s := startServer(t, "--node-monitor-grace-period", "5s")
	c := newCluster(t, s)
	a, b := c.nodes[0], c.nodes[1]
	a.startAgent()
	// node-b takes node ports on its node network only, not on its pod bridge.
	b.startAgent("--nodeport-addresses", "10.250.0.0/24")
	cs := s.client()
	ctx := context.Background()

	webA := a.addPod("web-a", map[string]string{"app": "web"})
	webB := b.addPod("web-b", map[string]string{"app": "web"})
	client := a.addPod("client", map[string]string{"app": "client"})
	web := createService(t, cs, echoService("web", "web", nil))
	webAddr := net.JoinHostPort(web.Spec.ClusterIP, "80")

	t.Run("node registered with its address and a lease", func(t *testing.T) {
		node, err := cs.CoreV1().Nodes().Get(ctx, "node-b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if node.Spec.PodCIDR != "10.244.2.0/24" || len(node.Status.Addresses) == 0 || node.Status.Addresses[0].Address != "10.250.0.2" {
			t.Errorf("node-b spec.podCIDR %q, addresses %+v", node.Spec.PodCIDR, node.Status.Addresses)
		}
		if _, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, "node-b", metav1.GetOptions{}); err != nil {
			t.Errorf("lease of node-b: %v", err)
		}
	})

	t.Run("agent health and metrics", func(t *testing.T) {
		eventually(t, 10*time.Second, func() error {
			code, body, err := httpGet(a.ns, "http://127.0.0.1:10256/healthz")
			if err != nil || code != 200 || !strings.Contains(body, `"nodeEligible":true`) {
				return fmt.Errorf("healthz: %d %s %v", code, body, err)
			}
			return nil
		})
		code, body, err := httpGet(a.ns, "http://127.0.0.1:10249/metrics")
		if err != nil || code != 200 || !strings.Contains(body, "svcnet_agent_sync_duration_seconds_count") ||
			!strings.Contains(body, `svcnet_agent_node_heartbeats_total{result="ok"}`) {
			t.Errorf("metrics: %d %v\n%s", code, err, body)
		}
	})

	t.Run("clusterIP from a pod reaches endpoints on both nodes", func(t *testing.T) {
		reach(t, client.ns, "tcp", webAddr)
		seen := spread(t, client.ns, "tcp", webAddr, 40)
		if seen["web-a"] == 0 || seen["web-b"] == 0 {
			t.Errorf("answers over 40 connections: %v; want both web-a and web-b", seen)
		}
	})

	t.Run("clusterIP from a node", func(t *testing.T) {
		got := reach(t, b.ns, "tcp", webAddr)
		if got.Name != "web-a" && got.Name != "web-b" {
			t.Errorf("answer from %q", got.Name)
		}
	})

	t.Run("pod source address is preserved", func(t *testing.T) {
		for range 10 {
			got, err := client.ns.Ask(ctx, "tcp", webAddr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got.Client != client.ip {
				t.Fatalf("%s saw the client as %s; want %s", got.Name, got.Client, client.ip)
			}
		}
	})

	t.Run("hairpin: a pod reaches itself through its Service", func(t *testing.T) {
		eventually(t, 15*time.Second, func() error {
			got, err := webA.ns.Ask(ctx, "tcp", webAddr, time.Second)
			if err != nil {
				return err
			}
			if got.Name != "web-a" {
				return fmt.Errorf("landed on %s", got.Name)
			}
			return nil
		})
	})

	t.Run("node port on a node without the pod, from outside", func(t *testing.T) {
		nodePortFromOutside(t, cs, c.outside, b)
	})

	t.Run("node ports only on --nodeport-addresses", func(t *testing.T) {
		np := createService(t, cs, echoService("np-addresses", "web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }))
		port := fmt.Sprint(np.Spec.Ports[0].NodePort)
		reach(t, c.outside, "tcp", net.JoinHostPort(b.ip, port))
		// node-b's bridge address is not a node port address: nothing listens there.
		_, err := client.ns.Ask(ctx, "tcp", net.JoinHostPort("10.244.2.1", port), time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("node port on node-b's bridge address: %v; want connection refused", err)
		}
	})

	t.Run("internalTrafficPolicy Local uses only this node's endpoints", func(t *testing.T) {
		itp := createService(t, cs, echoService("itp", "web", func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
		}))
		addr := net.JoinHostPort(itp.Spec.ClusterIP, "80")
		reach(t, client.ns, "tcp", addr)
		if seen := spread(t, client.ns, "tcp", addr, 20); seen["web-a"] != 20 {
			t.Errorf("answers on node-a: %v; want all from web-a", seen)
		}
	})

	t.Run("no endpoints: refused at once", func(t *testing.T) {
		empty := createService(t, cs, echoService("empty", "nothing", nil))
		addr := net.JoinHostPort(empty.Spec.ClusterIP, "80")
		eventually(t, 15*time.Second, func() error {
			start := time.Now()
			_, err := client.ns.Ask(ctx, "tcp", addr, 3*time.Second)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("dial: %v; want connection refused", err)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				return fmt.Errorf("refusal took %v", d)
			}
			return nil
		})
	})

	t.Run("an unready endpoint leaves the rotation", func(t *testing.T) {
		pod, err := cs.CoreV1().Pods("default").Get(ctx, "web-b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		setReady(t, cs, pod, webB.ip, false)
		start := time.Now()
		eventually(t, 10*time.Second, func() error {
			if seen := spread(t, client.ns, "tcp", webAddr, 20); seen["web-b"] > 0 {
				return fmt.Errorf("web-b still answers: %v", seen)
			}
			return nil
		})
		t.Logf("unready endpoint out of rotation within %v", time.Since(start).Round(time.Millisecond))
		pod, _ = cs.CoreV1().Pods("default").Get(ctx, "web-b", metav1.GetOptions{})
		setReady(t, cs, pod, webB.ip, true)
		eventually(t, 10*time.Second, func() error {
			if seen := spread(t, client.ns, "tcp", webAddr, 20); seen["web-b"] == 0 {
				return fmt.Errorf("web-b not back: %v", seen)
			}
			return nil
		})
	})

	t.Run("session affinity ClientIP over 100 connections", func(t *testing.T) {
		sticky := createService(t, cs, echoService("sticky", "web", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}))
		addr := net.JoinHostPort(sticky.Spec.ClusterIP, "80")
		first := reach(t, client.ns, "tcp", addr)
		if seen := spread(t, client.ns, "tcp", addr, 100); seen[first.Name] != 100 {
			t.Errorf("answers with affinity: %v; want all 100 from %s", seen, first.Name)
		}
	})

	t.Run("udp fails over when its endpoint goes away", func(t *testing.T) {
		udpFailsOver(t, cs, client.ns)
	})

	t.Run("externalTrafficPolicy Local keeps the client address and uses local endpoints only", func(t *testing.T) {
		local := createService(t, cs, echoService("local", "web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Selector = map[string]string{"app": "web", "only": "b"}
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}))
		labelPod(t, cs, "web-b", "only", "b")
		port := fmt.Sprint(local.Spec.Ports[0].NodePort)
		got := reach(t, c.outside, "tcp", net.JoinHostPort(b.ip, port))
		if got.Name != "web-b" || got.Client != "10.250.1.2" {
			t.Errorf("node-b's node port: %s saw %s; want web-b seeing the outside client 10.250.1.2", got.Name, got.Client)
		}
		// node-a has no local endpoint: its node port drops external traffic.
		if got, err := c.outside.Ask(ctx, "tcp", net.JoinHostPort("10.250.1.1", port), time.Second); err == nil {
			t.Errorf("node-a's node port answered (%s); want no answer", got.Name)
		}
	})

	t.Run("healthCheckNodePort answers 200 only where a local endpoint is", func(t *testing.T) {
		lbl := createService(t, cs, echoService("lb-local", "web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.Selector = map[string]string{"app": "web", "only": "b"}
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}))
		labelPod(t, cs, "web-b", "only", "b")
		hc := lbl.Spec.HealthCheckNodePort
		if hc == 0 {
			t.Fatal("no healthCheckNodePort allocated")
		}
		check := func(nodeIP string, wantCode, wantLocal int) {
			t.Helper()
			eventually(t, 15*time.Second, func() error {
				code, body, err := httpGet(c.outside, fmt.Sprintf("http://%s:%d/", nodeIP, hc))
				if err != nil {
					return err
				}
				want := fmt.Sprintf(`{"service":{"namespace":"default","name":"lb-local"},"localEndpoints":%d,"serviceProxyHealthy":true}`, wantLocal)
				if code != wantCode || strings.TrimSpace(body) != want {
					return fmt.Errorf("%s: %d %s; want %d %s", nodeIP, code, body, wantCode, want)
				}
				return nil
			})
		}
		check(b.ip, 200, 1)
		check("10.250.1.1", 503, 0)
	})

	t.Run("externalIPs and load balancer ingress IPs", func(t *testing.T) {
		lb := createService(t, cs, echoService("lb", "web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalIPs = []string{"10.250.9.10"}
		}))
		lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.250.9.9", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
		if _, err := cs.CoreV1().Services("default").UpdateStatus(ctx, lb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ip := range []string{"10.250.9.9", "10.250.9.10"} {
			got := reach(t, c.outside, "tcp", net.JoinHostPort(ip, "80"))
			if got.Name != "web-a" && got.Name != "web-b" {
				t.Errorf("%s answered by %q", ip, got.Name)
			}
		}
	})

	t.Run("a second Service naming the same external IP: the first keeps it, syncs go on", func(t *testing.T) {
		// A Service created after lb names lb's external IP and port with other
		// endpoints: the kernel would refuse the whole sync if both were
		// programmed, so the older Service keeps the address. Creation times
		// have a resolution of one second (a tie goes by name, which would
		// favour a-hijack): wait until lb is a second older.
		lb, err := cs.CoreV1().Services("default").Get(ctx, "lb", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(lb.CreationTimestamp.Add(1100 * time.Millisecond)))
		hijack := createService(t, cs, echoService("a-hijack", "client", func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"10.250.9.10"}
		}))
		after := createService(t, cs, echoService("after", "client", nil))
		// The Service created after the conflicting one is programmed: the node
		// still syncs.
		if got := reach(t, client.ns, "tcp", net.JoinHostPort(after.Spec.ClusterIP, "80")); got.Name != "client" {
			t.Fatalf("after answered by %q", got.Name)
		}
		reach(t, client.ns, "tcp", net.JoinHostPort(hijack.Spec.ClusterIP, "80"))
		for name, n := range spread(t, c.outside, "tcp", "10.250.9.10:80", 20) {
			if name != "web-a" && name != "web-b" {
				t.Errorf("10.250.9.10:80 answered %d times by %q, not lb's endpoints", n, name)
			}
		}
		// When lb goes, the address passes to hijack.
		if err := cs.CoreV1().Services("default").Delete(ctx, "lb", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, func() error {
			got, err := c.outside.Ask(ctx, "tcp", "10.250.9.10:80", time.Second)
			if err != nil {
				return err
			}
			if got.Name != "client" {
				return fmt.Errorf("answered by %q; want client (hijack's endpoint)", got.Name)
			}
			return nil
		})
		for _, name := range []string{"a-hijack", "after"} {
			if err := cs.CoreV1().Services("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("loadBalancerSourceRanges: only those sources reach the load balancer IP", func(t *testing.T) {
		guarded := createService(t, cs, echoService("guarded", "web", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.LoadBalancerSourceRanges = []string{"10.250.1.2/32"} // the outside client
		}))
		guarded.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.250.9.20"}}
		guarded, err := cs.CoreV1().Services("default").UpdateStatus(ctx, guarded, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lbAddr := "10.250.9.20:80"
		if got := reach(t, c.outside, "tcp", lbAddr); got.Name != "web-a" && got.Name != "web-b" {
			t.Fatalf("%s answered by %q", lbAddr, got.Name)
		}
		// A pod is not in the ranges: its connection is dropped (no answer, no
		// reset), while the Service's cluster IP and node port stay open to it.
		if a, err := client.ns.Ask(ctx, "tcp", lbAddr, time.Second); err == nil {
			t.Errorf("a pod outside the source ranges reached %s: answered by %q", lbAddr, a.Name)
		}
		reach(t, client.ns, "tcp", net.JoinHostPort(guarded.Spec.ClusterIP, "80"))
		reach(t, c.outside, "tcp", net.JoinHostPort(a.ip, fmt.Sprint(guarded.Spec.Ports[0].NodePort)))
		// Ranges that leave the outside client out close the door to it too.
		guarded.Spec.LoadBalancerSourceRanges = []string{" 10.250.3.0/24 "} // padding is tolerated
		if _, err := cs.CoreV1().Services("default").Update(ctx, guarded, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, func() error {
			if a, err := c.outside.Ask(ctx, "tcp", lbAddr, time.Second); err == nil {
				return fmt.Errorf("still answered by %q", a.Name)
			}
			return nil
		})
		if err := cs.CoreV1().Services("default").Delete(ctx, "guarded", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("agent restart keeps established connections", func(t *testing.T) {
		conn, err := client.ns.Dial(ctx, &net.Dialer{Timeout: 2 * time.Second}, "tcp", webAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		a.stop()
		b.stop()
		a.launch()
		b.launch()
		eventually(t, 15*time.Second, func() error {
			if !strings.Contains(a.logs.String(), "data plane synced") {
				return fmt.Errorf("restarted agent has not synced yet")
			}
			return nil
		})
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write([]byte("still there?\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatalf("established connection broken by the agent restart: %v", err)
		}
	})

	t.Run("API server down: traffic flows; back up: changes converge", func(t *testing.T) {
		s.stop()
		if seen := spread(t, client.ns, "tcp", webAddr, 10); seen["web-a"]+seen["web-b"] != 10 {
			t.Errorf("answers with the API server down: %v", seen)
		}
		s.start()
		cs := s.client()
		late := createService(t, cs, echoService("late", "web", nil))
		reach(t, client.ns, "tcp", net.JoinHostPort(late.Spec.ClusterIP, "80"))
	})

	t.Run("a node that stops heartbeating turns NotReady and its pods leave", func(t *testing.T) {
		b.stop()
		eventually(t, 30*time.Second, func() error {
			node, err := cs.CoreV1().Nodes().Get(ctx, "node-b", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return fmt.Errorf("node-b still Ready")
				}
			}
			return nil
		})
		eventually(t, 10*time.Second, func() error {
			if seen := spread(t, client.ns, "tcp", webAddr, 20); seen["web-b"] > 0 {
				return fmt.Errorf("web-b on the silent node still answers: %v", seen)
			}
			return nil
		})
	})

	t.Run("cleanup removes the table", func(t *testing.T) {
		b.stop()
		out, err := b.ns.Command(ctx, binary, "agent", "--cleanup").CombinedOutput()
		if err != nil {
			t.Fatalf("agent --cleanup: %v: %s", err, out)
		}
		if tables := b.ns.Run("nft", "list", "tables"); strings.Contains(tables, "svcnet") {
			t.Errorf("tables after cleanup: %s", tables)
		}
	})
}

// httpGet fetches url from inside ns.
func httpGet(ns *netnstest.NS, url string) (int, string, error) {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ns.Dial(ctx, &net.Dialer{}, network, addr)
		},
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// labelPod sets one label on a pod.
func labelPod(t *testing.T, cs kubernetes.Interface, name, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, key, value)
	if _, err := cs.CoreV1().Pods("default").Patch(context.Background(), name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestAgentWithoutNetAdmin runs the agent without capabilities: it must say what
// it needs and exit non-zero, touching nothing.
func TestAgentWithoutNetAdmin(t *testing.T) {
	netnstest.RequireRoot(t)
	ns := netnstest.New(t, "nocap")
	out, err := ns.Command(context.Background(), "setpriv", "--bounding-set=-all", "--inh-caps=-all",
		binary, "agent", "--node-name", "x", "--node-ip", "10.250.0.9").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("agent without CAP_NET_ADMIN: %v; want a non-zero exit", err)
	}
	if !strings.Contains(string(out), "needs CAP_NET_ADMIN") {
		t.Errorf("agent without CAP_NET_ADMIN said %q; want it to name CAP_NET_ADMIN", out)
	}
}

// udpFailsOver checks that a UDP socket talking to a Service of app=web (two
// endpoints) moves to the other endpoint when the one it reached stops being
// ready: conntrack keeps one socket on one endpoint until the agent deletes
// the entries of an endpoint that went away. The endpoint's process keeps
// running, as a pod in its grace period would; its readiness is restored at
// the end.
func udpFailsOver(t *testing.T, cs kubernetes.Interface, client *netnstest.NS) {
	t.Helper()
	ctx := context.Background()
	dns := createService(t, cs, echoService("udp", "web", func(s *corev1.Service) {
		s.Spec.Ports = []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(8080)}}
	}))
	addr := net.JoinHostPort(dns.Spec.ClusterIP, "53")
	reach(t, client, "udp", addr)
	conn, err := client.Dial(ctx, &net.Dialer{}, "udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	query := func() (netnstest.Answer, error) {
		_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := conn.Write([]byte("q\n")); err != nil {
			return netnstest.Answer{}, err
		}
		buf := make([]byte, 256)
		n, err := conn.Read(buf)
		if err != nil {
			return netnstest.Answer{}, err
		}
		return netnstest.ParseAnswer(string(buf[:n]))
	}
	var first netnstest.Answer
	eventually(t, 10*time.Second, func() (err error) { first, err = query(); return err })
	pod, err := cs.CoreV1().Pods("default").Get(ctx, first.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setReady(t, cs, pod, pod.Status.PodIP, false)
	defer func() {
		pod, _ := cs.CoreV1().Pods("default").Get(ctx, first.Name, metav1.GetOptions{})
		setReady(t, cs, pod, pod.Status.PodIP, true)
	}()
	eventually(t, 10*time.Second, func() error {
		got, err := query()
		if err != nil {
			return err
		}
		if got.Name == first.Name {
			return fmt.Errorf("udp socket still answered by %s", got.Name)
		}
		return nil
	})
}

// nodePortFromOutside checks that a NodePort Service whose only endpoint is
// web-a (on node-a) answers on node b from outside the cluster, with the
// client masqueraded behind b (Cluster policy).
func nodePortFromOutside(t *testing.T, cs kubernetes.Interface, outside *netnstest.NS, b *testNode) {
	t.Helper()
	np := createService(t, cs, echoService("np", "web", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Selector = map[string]string{"app": "web", "only": "a"}
	}))
	labelPod(t, cs, "web-a", "only", "a")
	port := fmt.Sprint(np.Spec.Ports[0].NodePort)
	got := reach(t, outside, "tcp", net.JoinHostPort(b.ip, port))
	if got.Name != "web-a" {
		t.Errorf("node port on node-b answered by %s; want web-a", got.Name)
	}
	if got.Client != b.ip {
		t.Errorf("web-a saw the outside client as %s; want node-b's %s", got.Client, b.ip)
	}
}
