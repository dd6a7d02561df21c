package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// maxPods is how many distinct Pod addresses podIP hands out (10.64.0.0/10).
const maxPods = 64 << 16

// managedBy selects the slices of svcnet's EndpointSlice controller.
const managedBy = discoveryv1.LabelManagedBy + "=endpointslice-controller.k8s.io"

// layout names every object of the fill. Pod g (0 <= g < services*pods) belongs to
// Service g/pods, and Service i lives in namespace i%namespaces.
type layout struct {
	services, pods, namespaces, nodes int
}

func (l layout) total() int               { return l.services * l.pods }
func (l layout) namespace(i int) string   { return fmt.Sprintf("bench-%02d", i%l.namespaces) }
func (l layout) serviceName(i int) string { return fmt.Sprintf("s-%05d", i) }
func (l layout) podName(g int) string     { return fmt.Sprintf("s-%05d-%03d", g/l.pods, g%l.pods) }
func (l layout) nodeName(g int) string    { return fmt.Sprintf("bench-node-%03d", g%l.nodes) }

// podIP gives Pod g a unique address in 10.64.0.0/10. The addresses are data only:
// nothing ever sends traffic to them.
func podIP(g int) string {
	return fmt.Sprintf("10.%d.%d.%d", 64+(g>>16), (g>>8)&255, g&255)
}

// service is Service i: a ClusterIP Service selecting its own Pods.
func (l layout) service(i int) *corev1.Service {
	name := l.serviceName(i)
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: l.namespace(i), Labels: map[string]string{"bench": "endpoints"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080),
			}},
		},
	}
}

// pod is Pod g as created: labelled for its Service and bound to a Node.
func (l layout) pod(g int) *corev1.Pod {
	i := g / l.pods
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: l.podName(g), Namespace: l.namespace(i), Labels: map[string]string{"app": l.serviceName(i)}},
		Spec: corev1.PodSpec{
			NodeName: l.nodeName(g),
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/app:1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			}},
		},
	}
}

// podStatus is what a kubelet reports for a running Pod.
func podStatus(ip string, ready bool) corev1.PodStatus {
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	return corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}},
	}
}

// pods remembers, per Pod, the resourceVersion of its last write and its readiness,
// so that a status write needs no read first.
type pods struct {
	l     layout
	rv    []string
	ready []bool
	// conflicts counts status writes refused for a stale resourceVersion (then read
	// and retried); nothing but this program writes the Pods, so it should stay 0.
	conflicts atomic.Int64
}

func newPods(l layout) *pods {
	return &pods{l: l, rv: make([]string, l.total()), ready: make([]bool, l.total())}
}

// setReady writes Pod g's status with the given readiness through pods/status.
func (p *pods) setReady(ctx context.Context, cs kubernetes.Interface, g int, ready bool) error {
	obj := p.l.pod(g)
	obj.ResourceVersion = p.rv[g]
	obj.Status = podStatus(podIP(g), ready)
	for attempt := 0; ; attempt++ {
		out, err := cs.CoreV1().Pods(obj.Namespace).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
		if err == nil {
			p.rv[g], p.ready[g] = out.ResourceVersion, ready
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return fmt.Errorf("update status of pod %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		p.conflicts.Add(1)
		cur, gerr := cs.CoreV1().Pods(obj.Namespace).Get(ctx, obj.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("read pod %s/%s after a conflict: %w", obj.Namespace, obj.Name, gerr)
		}
		obj.ResourceVersion = cur.ResourceVersion
	}
}

// fillTimes is how long each part of the fill took.
type fillTimes struct {
	pods, services, converge time.Duration
	podWrites                int // creates plus status writes
}

// fill creates the namespaces, Nodes, Pods (each created, then reported Running and
// Ready) and last the Services, so that each slice is written once with all its
// Pods rather than once per Pod; then it waits until every slice and Endpoints
// object lists every Pod as ready.
func fill(ctx context.Context, cs kubernetes.Interface, l layout, st *pods, workers int, timeout time.Duration) (fillTimes, error) {
	var ft fillTimes
	for i := range min(l.namespaces, l.services) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: l.namespace(i)}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return ft, fmt.Errorf("create namespace %s: %w", ns.Name, err)
		}
	}
	for n := range l.nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: l.nodeName(n), Labels: map[string]string{
			corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", n%3),
		}}}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return ft, fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}

	total := l.total()
	progress("fill: %d pods (create + status) with %d workers", total, workers)
	t := time.Now()
	var done atomic.Int64
	step := max(total/10, 1)
	err := upserver.Parallel(ctx, total, workers, func(ctx context.Context, g int) error {
		obj := l.pod(g)
		out, err := cs.CoreV1().Pods(obj.Namespace).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create pod %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		st.rv[g] = out.ResourceVersion
		if err := st.setReady(ctx, cs, g, true); err != nil {
			return err
		}
		if n := done.Add(1); n%int64(step) == 0 {
			progress("fill: %d pods ready (%.0f pod writes/s)", n, float64(2*n)/time.Since(t).Seconds())
		}
		return nil
	})
	ft.pods, ft.podWrites = time.Since(t), 2*total
	if err != nil {
		return ft, err
	}

	progress("fill: %d services", l.services)
	t = time.Now()
	err = upserver.Parallel(ctx, l.services, workers, func(ctx context.Context, i int) error {
		svc := l.service(i)
		if _, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		return nil
	})
	ft.services = time.Since(t)
	if err != nil {
		return ft, err
	}

	t = time.Now()
	if err := waitConverged(ctx, cs, l, timeout); err != nil {
		return ft, err
	}
	ft.converge = time.Since(t)
	return ft, nil
}

// counts is what the controllers have published for the bench Services.
type counts struct {
	slices, sliceEndpoints, sliceReady int
	endpoints, epReady, epNotReady     int
}

func (c counts) String() string {
	return fmt.Sprintf("%d slices with %d endpoints (%d ready), %d Endpoints with %d ready and %d not-ready addresses",
		c.slices, c.sliceEndpoints, c.sliceReady, c.endpoints, c.epReady, c.epNotReady)
}

// waitConverged polls until the bench Services' slices and Endpoints list every Pod,
// all ready.
func waitConverged(ctx context.Context, cs kubernetes.Interface, l layout, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := l.total()
	last := time.Now()
	for {
		c, err := countPublished(ctx, cs, l)
		if err != nil {
			return err
		}
		if c.sliceEndpoints == want && c.sliceReady == want && c.epReady == want && c.epNotReady == 0 && c.endpoints == l.services {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not converged after %v: %v; want %d of each", timeout, c, want)
		}
		if time.Since(last) > 10*time.Second {
			progress("converging: %v", c)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// countPublished lists the controller-managed slices and the Endpoints of the bench
// namespaces, page by page, and counts their endpoints.
func countPublished(ctx context.Context, cs kubernetes.Interface, l layout) (counts, error) {
	var c counts
	opts := metav1.ListOptions{LabelSelector: managedBy, Limit: 200}
	for {
		list, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, opts)
		if err != nil {
			return c, fmt.Errorf("list endpointslices: %w", err)
		}
		for _, s := range list.Items {
			if !strings.HasPrefix(s.Namespace, "bench-") {
				continue
			}
			c.slices++
			for _, e := range s.Endpoints {
				c.sliceEndpoints++
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					c.sliceReady++
				}
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	for i := range min(l.namespaces, l.services) {
		ns := l.namespace(i)
		opts := metav1.ListOptions{Limit: 200}
		for {
			list, err := cs.CoreV1().Endpoints(ns).List(ctx, opts)
			if err != nil {
				return c, fmt.Errorf("list endpoints in %s: %w", ns, err)
			}
			for _, e := range list.Items {
				c.endpoints++
				for _, ss := range e.Subsets {
					c.epReady += len(ss.Addresses)
					c.epNotReady += len(ss.NotReadyAddresses)
				}
			}
			if opts.Continue = list.Continue; opts.Continue == "" {
				break
			}
		}
	}
	return c, nil
}
