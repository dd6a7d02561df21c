package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// serviceCIDRDual is the service range of the dual-stack test servers: IPv4
// primary, then IPv6.
const serviceCIDRDual = "10.96.0.0/16," + serviceCIDR6

// families returns the IP family of each address, failing on a malformed one.
func families(t *testing.T, ips []string) []corev1.IPFamily {
	t.Helper()
	var out []corev1.IPFamily
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("cluster IP %q: %v", s, err)
		}
		if a.Is4() {
			out = append(out, corev1.IPv4Protocol)
		} else {
			out = append(out, corev1.IPv6Protocol)
		}
	}
	return out
}

// TestDualStackServices runs a server with an IPv4 and an IPv6 service range
// and checks what kube-apiserver does there: each ipFamilyPolicy's families
// and cluster IPs, requested secondary IPs, upgrades and downgrades of a
// Service with the release of its secondary IP, and allocations that survive a
// restart (the repair pass knows both ranges).
func TestDualStackServices(t *testing.T) {
	s := startServer(t, "--service-cluster-ip-range", serviceCIDRDual)
	cs := s.client()
	ctx := context.Background()
	v4, v6 := corev1.IPv4Protocol, corev1.IPv6Protocol
	policy := func(p corev1.IPFamilyPolicy) *corev1.IPFamilyPolicy { return &p }

	kube, err := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kube.Spec.ClusterIP != "10.96.0.1" || len(kube.Spec.ClusterIPs) != 1 {
		t.Errorf("kubernetes Service has %s %v; want the primary range's first address only", kube.Spec.ClusterIP, kube.Spec.ClusterIPs)
	}

	tests := []struct {
		name     string
		mutate   func(*corev1.Service)
		wantPol  corev1.IPFamilyPolicy
		wantFams []corev1.IPFamily
		wantIPs  []string // exact cluster IPs, when requested
	}{
		{name: "single", wantPol: corev1.IPFamilyPolicySingleStack, wantFams: []corev1.IPFamily{v4}},
		{name: "single-v6", mutate: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{v6} },
			wantPol: corev1.IPFamilyPolicySingleStack, wantFams: []corev1.IPFamily{v6}},
		{name: "prefer", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyPreferDualStack) },
			wantPol: corev1.IPFamilyPolicyPreferDualStack, wantFams: []corev1.IPFamily{v4, v6}},
		{name: "require-v6-first", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyRequireDualStack)
			s.Spec.IPFamilies = []corev1.IPFamily{v6}
		}, wantPol: corev1.IPFamilyPolicyRequireDualStack, wantFams: []corev1.IPFamily{v6, v4}},
		{name: "requested", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyRequireDualStack)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.200", []string{"10.96.0.200", "fd00:10:96::200"}
		}, wantPol: corev1.IPFamilyPolicyRequireDualStack, wantFams: []corev1.IPFamily{v4, v6}, wantIPs: []string{"10.96.0.200", "fd00:10:96::200"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := createService(t, cs, echoService(tc.name, "web", tc.mutate))
			if p := got.Spec.IPFamilyPolicy; p == nil || *p != tc.wantPol {
				t.Errorf("ipFamilyPolicy %v; want %s", p, tc.wantPol)
			}
			if !slices.Equal(got.Spec.IPFamilies, tc.wantFams) || !slices.Equal(families(t, got.Spec.ClusterIPs), tc.wantFams) {
				t.Errorf("ipFamilies %v, clusterIPs %v; want families %v for both", got.Spec.IPFamilies, got.Spec.ClusterIPs, tc.wantFams)
			}
			if len(got.Spec.ClusterIPs) == 0 || got.Spec.ClusterIP != got.Spec.ClusterIPs[0] {
				t.Errorf("clusterIP %s is not clusterIPs[0] of %v", got.Spec.ClusterIP, got.Spec.ClusterIPs)
			}
			if tc.wantIPs != nil && !slices.Equal(got.Spec.ClusterIPs, tc.wantIPs) {
				t.Errorf("clusterIPs %v; want %v", got.Spec.ClusterIPs, tc.wantIPs)
			}
		})
	}

	t.Run("a requested secondary IP already held is refused", func(t *testing.T) {
		svc := echoService("taken", "web", func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyRequireDualStack)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.201", []string{"10.96.0.201", "fd00:10:96::200"}
		})
		_, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		want := `spec.clusterIPs: Invalid value: ["10.96.0.201","fd00:10:96::200"]: failed to allocate IP fd00:10:96::200: provided IP is already allocated`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("create: %v; want an error containing %q", err, want)
		}
	})

	t.Run("kubectl get shows the primary cluster IP", func(t *testing.T) {
		r := s.kubectl("", "get", "service", "require-v6-first", "--no-headers")
		if r.code != 0 {
			t.Fatalf("kubectl get: %s", r.stderr)
		}
		fields := strings.Fields(r.stdout)
		if len(fields) < 3 || !strings.HasPrefix(fields[2], "fd00:10:96::") {
			t.Errorf("kubectl get service: %q; want the IPv6 primary cluster IP in the CLUSTER-IP column", r.stdout)
		}
	})

	var released string
	t.Run("upgrade to PreferDualStack adds an IPv6 cluster IP", func(t *testing.T) {
		r := s.kubectl("", "patch", "service", "single", "--type=merge", "-p", `{"spec":{"ipFamilyPolicy":"PreferDualStack"}}`)
		if r.code != 0 {
			t.Fatalf("kubectl patch: %s", r.stderr)
		}
		got, err := cs.CoreV1().Services("default").Get(ctx, "single", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(families(t, got.Spec.ClusterIPs), []corev1.IPFamily{v4, v6}) || !slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{v4, v6}) {
			t.Fatalf("after upgrade: clusterIPs %v, families %v; want IPv4 then IPv6", got.Spec.ClusterIPs, got.Spec.IPFamilies)
		}
	})

	t.Run("downgrade to SingleStack releases the secondary cluster IP", func(t *testing.T) {
		before, err := cs.CoreV1().Services("default").Get(ctx, "prefer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		released = before.Spec.ClusterIPs[1]
		// Without SingleStack, dropping the secondary is refused.
		_, err = cs.CoreV1().Services("default").Patch(ctx, "prefer", types.MergePatchType,
			fmt.Appendf(nil, `{"spec":{"clusterIPs":[%q]}}`, before.Spec.ClusterIP), metav1.PatchOptions{})
		if err == nil || !strings.Contains(err.Error(), `spec.ipFamilyPolicy: Invalid value: "PreferDualStack": must be 'SingleStack' to release the secondary cluster IP`) {
			t.Fatalf("dropping the secondary IP without SingleStack: %v; want refused", err)
		}
		// Nor may the secondary family go (it was once put back silently).
		r := s.kubectl("", "patch", "service", "prefer", "--type=merge", "-p", `{"spec":{"ipFamilies":["IPv4"]}}`)
		if want := `The Service "prefer" is invalid: spec.ipFamilyPolicy: Invalid value: "PreferDualStack": must be 'SingleStack' to release the secondary IP family`; r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("kubectl patch dropping IPv6: exit %d, stderr %q; want %q", r.code, r.stderr, want)
		}
		r = s.kubectl("", "patch", "service", "prefer", "--type=merge", "-p", `{"spec":{"ipFamilyPolicy":"SingleStack"}}`)
		if r.code != 0 {
			t.Fatalf("kubectl patch: %s", r.stderr)
		}
		got, err := cs.CoreV1().Services("default").Get(ctx, "prefer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Spec.ClusterIPs, before.Spec.ClusterIPs[:1]) || !slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{v4}) {
			t.Fatalf("after downgrade: clusterIPs %v, families %v; want %v, [IPv4]", got.Spec.ClusterIPs, got.Spec.IPFamilies, before.Spec.ClusterIPs[:1])
		}
		// The released address is free again.
		reuse := createService(t, cs, echoService("reuse", "web", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = released, []string{released}
		}))
		if reuse.Spec.ClusterIP != released {
			t.Errorf("reuse got %s; want %s", reuse.Spec.ClusterIP, released)
		}
	})

	t.Run("IPv6 allocations survive a restart", func(t *testing.T) {
		s.stop()
		s.start()
		// fd00:10:96::200 is held by "requested": the repair pass must not
		// have freed it as outside the (primary) range.
		svc := echoService("after-restart", "web", func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00:10:96::200", []string{"fd00:10:96::200"}
		})
		_, err := s.client().CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "provided IP is already allocated") {
			t.Fatalf("create with a held IPv6 cluster IP after restart: %v; want already allocated", err)
		}
	})
}

// TestDataPlaneDualStack runs a dual-stack cluster: a server with an IPv4 and
// an IPv6 service range, nodes and pods with both families, and agents that
// program an ip and an ip6 table. One RequireDualStack Service answers on both
// of its cluster IPs, each from the endpoints of its own family, with the
// client's address kept.
func TestDataPlaneDualStack(t *testing.T) {
	netnstest.RequireRoot(t)
	s := startServer(t, "--service-cluster-ip-range", serviceCIDRDual, "--node-monitor-grace-period", "5s")
	c := newClusterDual(t, s)
	a, b := c.nodes[0], c.nodes[1]
	a.startAgent()
	b.startAgent()
	cs := s.client()

	a.addPod("web-a", map[string]string{"app": "web"})
	b.addPod("web-b", map[string]string{"app": "web"})
	client := a.addPod("client", map[string]string{"app": "client"})
	web := createService(t, cs, echoService("web", "web", func(s *corev1.Service) {
		p := corev1.IPFamilyPolicyRequireDualStack
		s.Spec.IPFamilyPolicy = &p
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "udp", Port: 80, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(8080)})
	}))
	if len(web.Spec.ClusterIPs) != 2 {
		t.Fatalf("clusterIPs %v; want two", web.Spec.ClusterIPs)
	}

	t.Run("the Nodes carry both families", func(t *testing.T) {
		node, err := cs.CoreV1().Nodes().Get(context.Background(), "node-b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"10.244.2.0/24", "fd00:10:244:2::/64"}; !slices.Equal(node.Spec.PodCIDRs, want) || node.Spec.PodCIDR != want[0] {
			t.Errorf("podCIDR %s, podCIDRs %v; want %v", node.Spec.PodCIDR, node.Spec.PodCIDRs, want)
		}
		var addrs []string
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				addrs = append(addrs, a.Address)
			}
		}
		if want := []string{b.ip, b.ip6}; !slices.Equal(addrs, want) {
			t.Errorf("InternalIP addresses %v; want %v", addrs, want)
		}
	})

	t.Run("one EndpointSlice per family", func(t *testing.T) {
		waitSlicesByFamily(t, cs, "web", map[discoveryv1.AddressType][]string{
			discoveryv1.AddressTypeIPv4: {"10.244.1.11", "10.244.2.11"},
			discoveryv1.AddressTypeIPv6: {"fd00:10:244:1::b", "fd00:10:244:2::b"},
		})
	})

	t.Run("both tables on every node", func(t *testing.T) {
		for _, n := range c.nodes {
			eventually(t, 10*time.Second, func() error {
				tables := n.ns.Run("nft", "list", "tables")
				if !strings.Contains(tables, "table ip svcnet") || !strings.Contains(tables, "table ip6 svcnet") {
					return fmt.Errorf("tables on %s: %s", n.name, tables)
				}
				return nil
			})
		}
	})

	for i, want := range []string{client.ip, client.ip6} {
		addr := net.JoinHostPort(web.Spec.ClusterIPs[i], "80")
		t.Run("cluster IP "+web.Spec.ClusterIPs[i]+" from a pod", func(t *testing.T) {
			got := reach(t, client.ns, "tcp", addr)
			if got.Client != want {
				t.Errorf("%s saw the client as %s; want %s", got.Name, got.Client, want)
			}
			seen := spread(t, client.ns, "tcp", addr, 40)
			if seen["web-a"] == 0 || seen["web-b"] == 0 {
				t.Errorf("answers over 40 connections: %v; want both web-a and web-b", seen)
			}
			if got := reach(t, client.ns, "udp", addr); got.Name != "web-a" && got.Name != "web-b" {
				t.Errorf("UDP answered by %q", got.Name)
			}
		})
	}

	t.Run("idle periodic full syncs are skipped, tampering is repaired", func(t *testing.T) {
		// Nothing but the agent commits to nftables in node-a: its periodic
		// full syncs (every 5 s here) find the ruleset generation moved only
		// by its own two tables, and are skipped.
		eventually(t, 20*time.Second, func() error {
			if !strings.Contains(a.logs.String(), "periodic full sync skipped") {
				return fmt.Errorf("no skipped full sync in node-a's agent log yet")
			}
			return nil
		})
		// With the table flushed the cluster IP must stop answering. A
		// periodic check landing between the flush and the connection's SYN
		// repairs first; three such landings in a row do not happen.
		addr := net.JoinHostPort(web.Spec.ClusterIPs[1], "80")
		broken := false
		for range 3 {
			a.ns.Run("nft", "flush", "table", "ip6", "svcnet")
			if _, err := client.ns.Ask(context.Background(), "tcp", addr, 500*time.Millisecond); err != nil {
				broken = true
				break
			}
		}
		if !broken {
			t.Fatalf("%s still answers with the ip6 table flushed", addr)
		}
		start := time.Now()
		if got := reach(t, client.ns, "tcp", addr); got.Client != client.ip6 {
			t.Errorf("after repair %s saw the client as %s; want %s", got.Name, got.Client, client.ip6)
		}
		t.Logf("repaired within %v", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("a single-stack IPv6 Service on the same cluster", func(t *testing.T) {
		v6 := createService(t, cs, echoService("web6", "web", func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		}))
		got := reach(t, client.ns, "tcp", net.JoinHostPort(v6.Spec.ClusterIP, "80"))
		if got.Client != client.ip6 {
			t.Errorf("%s saw the client as %s; want %s", got.Name, got.Client, client.ip6)
		}
	})
}

// waitSlicesByFamily waits until the EndpointSlices of Service svc in default
// list exactly want's addresses per address type (and no other type).
func waitSlicesByFamily(t *testing.T, cs kubernetes.Interface, svc string, want map[discoveryv1.AddressType][]string) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		list, err := cs.DiscoveryV1().EndpointSlices("default").List(context.Background(),
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			return err
		}
		got := map[discoveryv1.AddressType][]string{}
		for _, sl := range list.Items {
			addrs := got[sl.AddressType]
			if addrs == nil {
				addrs = []string{} // an empty slice counts as an address type too
			}
			for _, ep := range sl.Endpoints {
				addrs = append(addrs, ep.Addresses...)
			}
			got[sl.AddressType] = addrs
		}
		for typ := range got {
			slices.Sort(got[typ])
		}
		if len(got) != len(want) {
			return fmt.Errorf("slices by address type: %v; want %v", got, want)
		}
		for typ, addrs := range want {
			if !slices.Equal(got[typ], addrs) {
				return fmt.Errorf("slices by address type: %v; want %v", got, want)
			}
		}
		return nil
	})
}
