package clusterdns

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func node(name, ip string, dns string, ready bool) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}},
		},
	}
	if dns != "" {
		n.Labels[NodeLabel] = dns
	}
	return n
}

func TestEndpointsListDNSNodes(t *testing.T) {
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: Namespace, Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10"}}
	client := fake.NewClientset(svc,
		node("b", "10.0.0.2", "true", true),
		node("a", "10.0.0.1", "true", true),
		node("c", "10.0.0.3", "true", false),
		node("d", "10.0.0.4", "false", true), // serves no DNS on 53
		node("e", "10.0.0.5", "", true),      // an agent of before DNS
	)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, nil)
	stop := make(chan struct{})
	factory.Start(stop)
	defer factory.Shutdown()
	defer close(stop)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	factory.WaitForCacheSync(sctx.Done())
	if err := c.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	ep, err := client.CoreV1().Endpoints(Namespace).Get(ctx, ServiceName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Subsets) != 1 {
		t.Fatalf("subsets %+v", ep.Subsets)
	}
	ss := ep.Subsets[0]
	var ready, notReady []string
	for _, a := range ss.Addresses {
		ready = append(ready, a.IP+"/"+*a.NodeName)
	}
	for _, a := range ss.NotReadyAddresses {
		notReady = append(notReady, a.IP+"/"+*a.NodeName)
	}
	if len(ready) != 2 || ready[0] != "10.0.0.1/a" || ready[1] != "10.0.0.2/b" || len(notReady) != 1 || notReady[0] != "10.0.0.3/c" {
		t.Fatalf("ready %v, not ready %v", ready, notReady)
	}
	if len(ss.Ports) != 2 || ss.Ports[0].Protocol != corev1.ProtocolUDP || ss.Ports[1].Name != "dns-tcp" || ss.Ports[1].Port != 53 {
		t.Fatalf("ports %+v", ss.Ports)
	}
	if ep.Labels["k8s-app"] != "kube-dns" {
		t.Fatalf("labels %v", ep.Labels)
	}
	rv := ep.ResourceVersion

	// Nothing changed: no write.
	if err := c.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if ep, _ = client.CoreV1().Endpoints(Namespace).Get(ctx, ServiceName, metav1.GetOptions{}); ep.ResourceVersion != rv {
		t.Fatalf("an unchanged set was written again")
	}

	// A selector means someone else owns the endpoints.
	svc.Spec.Selector = map[string]string{"k8s-app": "kube-dns"}
	if _, err := client.CoreV1().Services(Namespace).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := c.services.Services(Namespace).Get(ServiceName)
		n, _ := c.nodes.List(labelsEverything())
		if (s != nil && len(s.Spec.Selector) > 0 && len(n) == 4) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if ep, _ = client.CoreV1().Endpoints(Namespace).Get(ctx, ServiceName, metav1.GetOptions{}); len(ep.Subsets[0].Addresses) != 2 {
		t.Fatalf("endpoints of a Service with a selector were rewritten")
	}
}

func labelsEverything() labels.Selector { return labels.Everything() }

func TestNodeAddressOfTheServiceFamily(t *testing.T) {
	dual := node("a", "10.0.0.1", "true", true)
	dual.Status.Addresses = append(dual.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::1"})
	v6only := node("b", "fd00::2", "true", true)
	tests := []struct {
		name string
		n    *corev1.Node
		svc  corev1.ServiceSpec
		want string
	}{
		{name: "dual-stack node, IPv4 Service", n: dual, svc: corev1.ServiceSpec{ClusterIP: "10.96.0.10", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}}, want: "10.0.0.1"},
		{name: "dual-stack node, IPv6 Service", n: dual, svc: corev1.ServiceSpec{ClusterIP: "fd00:10:96::a", IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol}}, want: "fd00::1"},
		{name: "family from the cluster IP alone", n: dual, svc: corev1.ServiceSpec{ClusterIP: "fd00:10:96::a"}, want: "fd00::1"},
		{name: "node without the family keeps its first address", n: v6only, svc: corev1.ServiceSpec{ClusterIP: "10.96.0.10"}, want: "fd00::2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := desiredSubsets([]*corev1.Node{tt.n}, serviceIsIPv6(&corev1.Service{Spec: tt.svc}))
			if len(got) != 1 || len(got[0].Addresses) != 1 || got[0].Addresses[0].IP != tt.want {
				t.Errorf("subsets %+v; want the one address %s", got, tt.want)
			}
		})
	}
}
