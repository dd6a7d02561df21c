package dns

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func heap() uint64 {
	goruntime.GC()
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSourceMemory measures the live heap that cluster DNS keeps for
// 10,000 Services (5 endpoints each) and 50,000 pods in 100 namespaces, fed
// through the reflectors from a fake API: the figure is MiB-live.
func BenchmarkSourceMemory(b *testing.B) {
	for range b.N {
		b.ReportMetric(sourceMemory(b), "MiB-live")
	}
}

func sourceMemory(b *testing.B) float64 {
	b.StopTimer()
	var objs []runtime.Object
	for n := range 100 {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%02d", n)}})
	}
	for i := range 10000 {
		ns := fmt.Sprintf("ns-%02d", i%100)
		objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Namespace: ns, UID: "u", Labels: map[string]string{"app": "x"}},
			Spec: corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1), ClusterIPs: []string{fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "grpc", Port: 90, Protocol: "TCP"}}}})
		var eps []discoveryv1.Endpoint
		for j := range 5 {
			eps = append(eps, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", 100+j, i/250, i%250+1)}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: fmt.Sprintf("pod-%d-%d", i, j), Namespace: ns}, NodeName: ptr.To("node-1")})
		}
		objs = append(objs, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d-abcde", i), Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: fmt.Sprintf("svc-%d", i)}},
			AddressType: "IPv4", Endpoints: eps, Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}}})
		for j := range 5 {
			objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d-%d", i, j), Namespace: ns, Labels: map[string]string{"app": "x"}},
				Spec:   corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "img"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", 100+j, i/250, i%250+1), PodIPs: []corev1.PodIP{{IP: fmt.Sprintf("10.%d.%d.%d", 100+j, i/250, i%250+1)}}}})
		}
	}
	client := fake.NewClientset(objs...)
	objs = nil
	base := heap()
	ix := NewIndex("cluster.local")
	src := NewSource(client, ix, PodsVerified, NewClientFilter(nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx)
	b.StartTimer()
	src.WaitForSync(ctx)
	b.StopTimer()
	after := heap()
	if ix.namespaces["ns-07"].services["svc-7"] == nil {
		b.Fatal("index incomplete")
	}
	return float64(after-base) / (1 << 20)
}
