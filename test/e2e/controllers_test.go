package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestGarbageCollection deletes a Service and expects the EndpointSlice it owns to go.
func TestGarbageCollection(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	svc, err := cs.CoreV1().Services("default").Create(ctx, newService("owner"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: "owned", Labels: map[string]string{discoveryv1.LabelServiceName: "owner", discoveryv1.LabelManagedBy: "e2e-test"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "owner", UID: svc.UID, Controller: &yes}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Services("default").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		_, err := cs.DiscoveryV1().EndpointSlices("default").Get(ctx, "owned", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("slice of a deleted service still there: %v", err)
		}
		return nil
	})
}

// TestLeaderFailover runs two servers on one etcd cluster: exactly one holds the
// controller-manager lease, and when it dies the other takes over within seconds and
// its controllers work (a terminating namespace is finalized).
func TestLeaderFailover(t *testing.T) {
	ec := startEtcdCluster(t)
	etcdFlag := strings.Join(ec.clientURLs, ",")
	a := startServer(t, "server", "--etcd-servers", etcdFlag, "--leader-elect-lease-duration", "4s")
	b := startServer(t, "server", "--etcd-servers", etcdFlag, "--leader-elect-lease-duration", "4s")
	ctx := context.Background()
	holder := func(via *server) string {
		l, err := via.client().CoordinationV1().Leases("kube-system").Get(ctx, "svcnet-controller-manager", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	var first string
	eventually(t, 15*time.Second, func() error {
		if first = holder(b); first == "" {
			return fmt.Errorf("no leader yet")
		}
		return nil
	})
	// Whichever server leads, kill it; the survivor must take over.
	leader, survivor := a, b
	if !strings.Contains(a.logs.String(), first) {
		leader, survivor = b, a
	}
	if !strings.Contains(leader.logs.String(), "leading: starting controllers") {
		t.Fatalf("leader %s did not log that it leads", first)
	}
	leader.kill()
	start := time.Now()
	eventually(t, 20*time.Second, func() error {
		if h := holder(survivor); h == "" || h == first {
			return fmt.Errorf("lease still held by %q", h)
		}
		return nil
	})
	t.Logf("fail-over took %v", time.Since(start).Round(100*time.Millisecond))
	cs := survivor.client()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-failover"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, "after-failover", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "after-failover", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace not finalized by the new leader: %v", err)
		}
		return nil
	})
}

// TestWarningEventsInDescribe expects the endpointslice controller's warnings about a
// Service that can have no endpoints to show in kubectl describe: a selector that
// matches no pod, then a named targetPort that the selected pod does not define.
func TestWarningEventsInDescribe(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	svc := newService("lonely")
	svc.Spec.Selector = map[string]string{"app": "lonely"}
	svc.Spec.Ports[0].TargetPort = intstr.FromString("web")
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	describeShows := func(want string) {
		t.Helper()
		eventually(t, 15*time.Second, func() error {
			out := s.mustKubectl("", "describe", "svc", "lonely")
			if !strings.Contains(out, want) {
				return fmt.Errorf("describe svc lonely lacks %q:\n%s", want, out)
			}
			return nil
		})
	}
	describeShows("matches no pods in namespace default")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "lonely-1", Labels: svc.Spec.Selector},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	describeShows(`No selected pod defines port "web"`)
}
