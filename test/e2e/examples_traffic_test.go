package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// TestSeedExamplesCarryTraffic applies the seed documentation's manifests, with
// their public addresses rewritten to addresses inside the test's namespaces, to
// a two-node cluster and checks that each Service carries traffic as the
// documentation says.
func TestSeedExamplesCarryTraffic(t *testing.T) {
	netnstest.RequireRoot(t)
	// The NodePort example asks for port 8065: a range holding it is needed.
	s := startServer(t, "--service-node-port-range", "8000-9000")
	c := newCluster(t, s)
	a, b := c.nodes[0], c.nodes[1]
	a.startAgent()
	b.startAgent()
	cs := s.client()
	ctx := context.Background()
	s.mustKubectl("", "create", "namespace", "core")
	s.mustKubectl("", "create", "namespace", "manual")

	chatbot := a.addPodIn("core", "chatbot", map[string]string{"app": "chatbot"}, 4000, 8080)
	myApp := b.addPodIn("default", "my-app", map[string]string{"app": "MyApp"}, 9376)
	frontend := b.addPodIn("core", "frontend", map[string]string{"app": "ingress-frontend"}, 8443)
	mattermost := a.addPodIn("core", "mattermost", map[string]string{"app": "mattermost"}, 8065)
	external := b.addHost("external-db") // the selectorless example's hand-written endpoint
	external.serve(9376)
	client := b.addPod("client", map[string]string{"app": "client"})

	// Public addresses of the examples become addresses routed to node-a by the
	// outside client's default route; 1.2.3.4 becomes the hand-written endpoint.
	rewrite := strings.NewReplacer(
		"80.11.12.10", "10.250.9.20",
		"146.148.47.155", "10.250.9.21",
		"78.11.24.19", "10.250.9.22",
		"1.2.3.4", external.ip,
	)
	apply := func(file string, extra ...string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(examplesDir(t), file))
		if err != nil {
			t.Fatal(err)
		}
		s.mustKubectl(rewrite.Replace(string(data)), append([]string{"apply", "-f", "-"}, extra...)...)
	}
	apply("multiport-chatbot.yaml")
	apply("externalips-my-service.yaml")
	apply("loadbalancer-ingress-frontend.yaml")
	apply("nodeport-mattermost.yaml")
	apply("selectorless-with-endpoints.yaml", "-n", "manual")

	svc := func(ns, name string) *corev1.Service {
		t.Helper()
		out, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A Service's status is the load balancer's to write, so the manifest's is not
	// stored; write it as a load balancer controller would.
	lb := svc("core", "ingress-frontend-svc")
	if len(lb.Status.LoadBalancer.Ingress) == 0 {
		lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.250.9.21"}}
		if _, err := cs.CoreV1().Services("core").UpdateStatus(ctx, lb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		from *netnstest.NS
		addr string
		want string
	}{
		{name: "multi-port chatbot, slack-auth port", from: client.ns, addr: net.JoinHostPort(svc("core", "chatbot-svc").Spec.ClusterIP, "4000"), want: chatbot.name},
		{name: "multi-port chatbot, msteams-auth port", from: client.ns, addr: net.JoinHostPort(svc("core", "chatbot-svc").Spec.ClusterIP, "8080"), want: chatbot.name},
		{name: "externalIPs from outside", from: c.outside, addr: "10.250.9.20:80", want: myApp.name},
		{name: "externalIPs clusterIP from a pod", from: client.ns, addr: net.JoinHostPort(svc("default", "my-service").Spec.ClusterIP, "80"), want: myApp.name},
		{name: "load balancer ingress IP from outside", from: c.outside, addr: "10.250.9.21:3000", want: frontend.name},
		{name: "node port 8065 on the node without the pod", from: c.outside, addr: net.JoinHostPort(b.ip, "8065"), want: mattermost.name},
		{name: "node port 8065 on the pod's node", from: c.outside, addr: "10.250.1.1:8065", want: mattermost.name},
		{name: "selectorless Service with hand-written Endpoints", from: client.ns, addr: net.JoinHostPort(svc("manual", "my-service").Spec.ClusterIP, "80"), want: external.name},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := reach(t, tc.from, "tcp", tc.addr); got.Name != tc.want {
				t.Errorf("%s answered by %s; want %s", tc.addr, got.Name, tc.want)
			}
		})
	}
}
