package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/internal/storage"
)

// TestNamespaceLifecycle deletes a namespace with content: it turns Terminating,
// refuses new content, loses its content and then disappears.
func TestNamespaceLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, _ := cs.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
	if ns.Status.Phase != corev1.NamespaceActive || ns.Labels["kubernetes.io/metadata.name"] != "doomed" || len(ns.Spec.Finalizers) != 1 {
		t.Errorf("new namespace = %+v; want Active, name label, kubernetes finalizer", ns)
	}
	for i := range 5 {
		if _, err := cs.CoreV1().Services("doomed").Create(ctx, newService(fmt.Sprintf("s%d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Hold the namespace in Terminating with a finalizer on one object, so the
	// forbidden create can be observed deterministically.
	held := newService("held")
	held.Finalizers = []string{"example.com/hold"}
	if _, err := cs.CoreV1().Services("doomed").Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("deleted namespace = %+v, %v; want Terminating with deletionTimestamp", ns, err)
	}
	_, err = cs.CoreV1().Services("doomed").Create(ctx, newService("late"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `services "late" is forbidden: unable to create new content in namespace doomed because it is being terminated`) {
		t.Errorf("create in terminating namespace: %v; want Forbidden", err)
	}
	r := s.kubectl("", "get", "ns", "doomed", "--no-headers")
	if !strings.Contains(r.stdout, "Terminating") {
		t.Errorf("kubectl get ns = %q; want Terminating", r.stdout)
	}
	eventually(t, 20*time.Second, func() error {
		list, err := cs.CoreV1().Services("doomed").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 || list.Items[0].Name != "held" || list.Items[0].DeletionTimestamp == nil {
			return fmt.Errorf("services left: %d", len(list.Items))
		}
		return nil
	})
	// Releasing the finalizer lets the object, then the namespace, go.
	if _, err := cs.CoreV1().Services("doomed").Patch(ctx, "held", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace still there: %v", err)
		}
		return nil
	})
	if err := cs.CoreV1().Namespaces().Delete(ctx, "default", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete namespace default: %v; want Forbidden", err)
	}
}

// TestPodGracefulDeletion checks that a pod bound to a node keeps its
// deletionTimestamp until it is deleted with grace 0, and an unbound pod goes at once.
func TestPodGracefulDeletion(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	mk := func(name, node string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
	}
	// The node exists, so the pod garbage collector has no orphan to collect and the
	// bound pod waits for its grace period (or a grace-0 delete) as with a kubelet.
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{mk("bound", "node-a"), mk("unbound", "")} {
		if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.CoreV1().Pods("default").Delete(ctx, "unbound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unbound pod after delete: %v; want NotFound", err)
	}
	if err := cs.CoreV1().Pods("default").Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := cs.CoreV1().Pods("default").Get(ctx, "bound", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("bound pod after delete = %+v, %v; want deletionTimestamp and grace 30", p, err)
	}
	zero := int64(0)
	if err := cs.CoreV1().Pods("default").Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("bound pod after grace-0 delete: %v; want NotFound", err)
	}
}

// TestOperability checks /metrics, /livez and /readyz.
func TestOperability(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("", "get", "svc")
	hc, err := rest.HTTPClientFor(s.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(s.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{`svcnet_apiserver_requests_total{code="200",resource="services",verb="list"}`, `svcnet_apiserver_request_duration_seconds_bucket{resource="services",verb="list"`, "go_goroutines"} {
		if !strings.Contains(string(body), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	for _, p := range []string{"/livez", "/readyz"} {
		resp, err := http.Get(strings.Replace(s.url(), "https", "http", 1) + p)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("plain HTTP %s answered 200; want TLS only", p)
			}
		}
	}
}

// TestAllocationRepair simulates the state a crash of a non-transactional writer
// could leave: an allocation record no Service holds, and a Service whose record is
// missing. The repair pass at start-up frees the first and restores the second.
func TestAllocationRepair(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	svc := newService("repair")
	svc.Spec.Type = corev1.ServiceTypeNodePort
	svc, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.stop()
	// Edit etcd while the server is down, through the embedded member's data dir.
	s.args = nil
	c := startBareEtcd(t, s.dataDir)
	ipKey := "/registry/allocations/clusterips/" + svc.Spec.ClusterIP
	portKey := fmt.Sprintf("/registry/allocations/nodeports/%d", svc.Spec.Ports[0].NodePort)
	leak := "/registry/allocations/clusterips/10.96.200.200"
	if _, err := c.Delete(ctx, ipKey); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, portKey); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, leak, "default/gone"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.start()
	s.waitReady(30 * time.Second)
	// The leaked address can be requested again; the restored ones cannot.
	want := newService("reuse")
	want.Spec.ClusterIP = "10.96.200.200"
	eventually(t, 10*time.Second, func() error {
		_, err := cs.CoreV1().Services("default").Create(ctx, want, metav1.CreateOptions{})
		return err
	})
	dupIP := newService("dup-ip")
	dupIP.Spec.ClusterIP = svc.Spec.ClusterIP
	if _, err := s.client().CoreV1().Services("default").Create(ctx, dupIP, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("IP whose record was lost: create err = %v; want Invalid (restored)", err)
	}
	dupPort := newService("dup-port")
	dupPort.Spec.Type = corev1.ServiceTypeNodePort
	dupPort.Spec.Ports[0].NodePort = svc.Spec.Ports[0].NodePort
	if _, err := s.client().CoreV1().Services("default").Create(ctx, dupPort, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("nodePort whose record was lost: create err = %v; want Invalid (restored)", err)
	}
}

// startBareEtcd opens a stopped server's embedded etcd in this process, so a test
// can edit what is stored. The caller closes the client, which stops the member.
func startBareEtcd(t *testing.T, dataDir string) *bareEtcd {
	t.Helper()
	e, err := storage.StartEmbedded(context.Background(), filepath.Join(dataDir, "etcd"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open embedded etcd: %v", err)
	}
	return &bareEtcd{Client: e.Client(), e: e}
}

type bareEtcd struct {
	*clientv3.Client
	e *storage.Embedded
}

func (b *bareEtcd) Close() { b.e.Close() }
