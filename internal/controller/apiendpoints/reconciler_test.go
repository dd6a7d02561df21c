package apiendpoints

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func addresses(t *testing.T, client *fake.Clientset) []string {
	t.Helper()
	ep, err := client.CoreV1().Endpoints("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range ep.Subsets[0].Addresses {
		out = append(out, a.IP)
	}
	return out
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	a := New(client, netip.MustParseAddr("10.250.0.2"), 6443, nil)
	if err := a.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := addresses(t, client); !slices.Equal(got, []string{"10.250.0.2"}) {
		t.Errorf("after the first server: %v", got)
	}
	b := New(client, netip.MustParseAddr("10.250.0.1"), 6443, nil)
	if err := b.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := addresses(t, client); !slices.Equal(got, []string{"10.250.0.1", "10.250.0.2"}) {
		t.Errorf("after the second server: %v; want both, sorted", got)
	}
	client.ClearActions()
	if err := a.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for _, act := range client.Actions() {
		if act.GetVerb() != "get" {
			t.Errorf("reconcile of an Endpoints already right wrote: %s", act.GetVerb())
		}
	}
	// A server on another port replaces the list: the port is the Service's.
	c := New(client, netip.MustParseAddr("10.250.0.3"), 8443, nil)
	if err := c.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	ep, _ := client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if want := (corev1.EndpointPort{Name: "https", Port: 8443, Protocol: corev1.ProtocolTCP}); len(ep.Subsets) != 1 || ep.Subsets[0].Ports[0] != want || len(ep.Subsets[0].Addresses) != 1 {
		t.Errorf("after a server on another port: %+v", ep.Subsets)
	}
}

func TestLoopbackIsNotPublished(t *testing.T) {
	client := fake.NewClientset()
	if err := New(client, netip.MustParseAddr("127.0.0.1"), 6443, nil).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(client.Actions()) != 0 {
		t.Errorf("loopback server wrote: %v", client.Actions())
	}
}
