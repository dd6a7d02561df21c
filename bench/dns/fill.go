package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// layout names every object of the fill. Service i lives in namespace
// i%namespaces; Pod g belongs to Service g%services, so every Service gets
// pods/services Pods (the first pods%services one more).
type layout struct {
	services, pods, namespaces, nodes, headlessEvery int
}

func (l layout) namespace(i int) string   { return fmt.Sprintf("ns-%02d", i%l.namespaces) }
func (l layout) serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }
func (l layout) headless(i int) bool      { return i%l.headlessEvery == l.headlessEvery-1 }
func (l layout) podName(g int) string {
	return fmt.Sprintf("%s-%d", l.serviceName(g%l.services), g/l.services)
}
func (l layout) nodeName(n int) string { return fmt.Sprintf("bench-node-%02d", n%l.nodes) }

// fqdn is Service i's name in the cluster domain.
func (l layout) fqdn(i int) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local.", l.serviceName(i), l.namespace(i))
}

// podsOf lists the Pods of Service i.
func (l layout) podsOf(i int) []int {
	var out []int
	for g := i; g < l.pods; g += l.services {
		out = append(out, g)
	}
	return out
}

// podIP gives Pod g a unique address in 10.64.0.0/10, outside the service range
// (10.96.0.0/12) for the counts this program allows. The addresses are data only.
func podIP(g int) string {
	return fmt.Sprintf("10.%d.%d.%d", 64+(g>>16), (g>>8)&255, g&255)
}

// servicePorts are every Service's ports: both named, so both have SRV records.
var servicePorts = []corev1.ServicePort{
	{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http")},
	{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090, TargetPort: intstr.FromString("metrics")},
}

// service is Service i: ClusterIP, or headless, selecting its own Pods.
func (l layout) service(i int) *corev1.Service {
	name := l.serviceName(i)
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: l.namespace(i), Labels: map[string]string{"bench": "dns"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: servicePorts},
	}
	if l.headless(i) {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

// pod is Pod g as created: labelled for its Service and bound to a Node.
func (l layout) pod(g int) *corev1.Pod {
	i := g % l.services
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: l.podName(g), Namespace: l.namespace(i), Labels: map[string]string{"app": l.serviceName(i)}},
		Spec: corev1.PodSpec{
			NodeName: l.nodeName(g),
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/app:1",
				Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
					{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
				},
			}},
		},
	}
}

// runningReady is what a kubelet reports for a running, ready Pod.
func runningReady(ip string) corev1.PodStatus {
	return corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	}
}

// filled is what the fill made, for the query files and the answer checks.
type filled struct {
	l          layout
	clusterIPs []string // by Service index; "" for headless
	times      fillTimes
}

type fillTimes struct {
	pods, services, converge time.Duration
}

// fill creates the namespaces, Nodes and Pods (created, then Running and Ready
// through pods/status), then the Services, so that each slice is written once
// with all its Pods; then it waits until the managed slices hold every Pod as
// ready.
func fill(ctx context.Context, cs kubernetes.Interface, l layout, workers int, timeout time.Duration) (*filled, error) {
	f := &filled{l: l, clusterIPs: make([]string, l.services)}
	for i := range l.namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: l.namespace(i)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", ns.Name, err)
		}
	}
	// The Nodes report no Ready condition and no heartbeat; the run also turns
	// the node lifecycle controller off, so their Pods stay ready.
	for n := range l.nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: l.nodeName(n)}}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}

	logf("fill: %d pods (create + status) with %d workers", l.pods, workers)
	t := time.Now()
	var done atomic.Int64
	step := max(l.pods/10, 1)
	err := upserver.Parallel(ctx, l.pods, workers, func(ctx context.Context, g int) error {
		obj := l.pod(g)
		out, err := cs.CoreV1().Pods(obj.Namespace).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create pod %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		out.Status = runningReady(podIP(g))
		if _, err := cs.CoreV1().Pods(obj.Namespace).UpdateStatus(ctx, out, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of pod %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		if n := done.Add(1); n%int64(step) == 0 {
			logf("fill: %d pods ready (%.0f pod writes/s)", n, float64(2*n)/time.Since(t).Seconds())
		}
		return nil
	})
	f.times.pods = time.Since(t)
	if err != nil {
		return nil, err
	}

	logf("fill: %d services", l.services)
	t = time.Now()
	err = upserver.Parallel(ctx, l.services, workers, func(ctx context.Context, i int) error {
		svc := l.service(i)
		out, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		if !l.headless(i) {
			f.clusterIPs[i] = out.Spec.ClusterIP
		}
		return nil
	})
	f.times.services = time.Since(t)
	if err != nil {
		return nil, err
	}

	t = time.Now()
	if err := waitSlices(ctx, cs, l, timeout); err != nil {
		return nil, err
	}
	f.times.converge = time.Since(t)
	return f, nil
}

// waitSlices polls until the controller-managed slices of the bench namespaces
// list every Pod, ready.
func waitSlices(ctx context.Context, cs kubernetes.Interface, l layout, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := time.Now()
	for {
		slices, ready, err := countReady(ctx, cs)
		if err != nil {
			return err
		}
		if ready == l.pods {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slices not converged after %v: %d slices with %d ready endpoints, want %d", timeout, slices, ready, l.pods)
		}
		if time.Since(last) > 10*time.Second {
			logf("converging: %d slices with %d of %d endpoints ready", slices, ready, l.pods)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// countReady lists the controller-managed slices page by page and counts the
// ready endpoints of the bench namespaces.
func countReady(ctx context.Context, cs kubernetes.Interface) (slices, ready int, err error) {
	opts := metav1.ListOptions{LabelSelector: discoveryv1.LabelManagedBy + "=endpointslice-controller.k8s.io", Limit: 500}
	for {
		list, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, opts)
		if err != nil {
			return 0, 0, fmt.Errorf("list endpointslices: %w", err)
		}
		for _, s := range list.Items {
			if !strings.HasPrefix(s.Namespace, "ns-") {
				continue
			}
			slices++
			for _, e := range s.Endpoints {
				if e.Conditions.Ready == nil || *e.Conditions.Ready {
					ready++
				}
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return slices, ready, nil
		}
	}
}
