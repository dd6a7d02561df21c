package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// Pod addresses in this file come from 10.244.0.0/16; they are only data.

// endpointState is what a Service's managed EndpointSlices say of one address.
type endpointState struct {
	ready, serving, terminating bool
	// ports lists the slice's ports as name=number, sorted.
	ports string
}

func (e endpointState) String() string {
	return fmt.Sprintf("{ready=%t serving=%t terminating=%t ports=%s}", e.ready, e.serving, e.terminating, e.ports)
}

// sliceStates returns address -> state over the managed slices of ns/svc, and how
// many slices there are.
func sliceStates(cs kubernetes.Interface, ns, svc string) (map[string]endpointState, int, error) {
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=endpointslice-controller.k8s.io",
	})
	if err != nil {
		return nil, 0, err
	}
	out := map[string]endpointState{}
	for _, s := range list.Items {
		var ports []string
		for _, p := range s.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			num := int32(0)
			if p.Port != nil {
				num = *p.Port
			}
			ports = append(ports, fmt.Sprintf("%s=%d", name, num))
		}
		sort.Strings(ports)
		for _, e := range s.Endpoints {
			c := e.Conditions
			out[e.Addresses[0]] = endpointState{
				ready:       c.Ready != nil && *c.Ready,
				serving:     c.Serving != nil && *c.Serving,
				terminating: c.Terminating != nil && *c.Terminating,
				ports:       strings.Join(ports, ","),
			}
		}
	}
	return out, len(list.Items), nil
}

// TestEndpointSlicesFollowChanges walks one multi-port Service with a named
// targetPort through the pod and Service changes a cluster sees, checking after each
// step what the EndpointSlices and the Endpoints object say.
func TestEndpointSlicesFollowChanges(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	pods := cs.CoreV1().Pods("default")
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "shop"},
		Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("web")},
			{Name: "metrics", Port: 9090},
		},
	}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two pods define the named port "web" with different numbers.
	mkPod := func(name, app string, webPort int32) {
		t.Helper()
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{
				Name: "c", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: webPort}},
			}}},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(name, ip string, ready bool) {
		t.Helper()
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		setReady(t, cs, p, ip, ready)
	}
	relabel := func(name, app string) {
		t.Helper()
		patch := fmt.Sprintf(`{"metadata":{"labels":{"app":%q}}}`, app)
		if _, err := pods.Patch(ctx, name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// expect waits until the slices say exactly want, in exactly nSlices slices.
	expect := func(step string, nSlices int, want map[string]endpointState) {
		t.Helper()
		eventually(t, 10*time.Second, func() error {
			got, n, err := sliceStates(cs, "default", "shop")
			if err != nil {
				return err
			}
			if n != nSlices || !maps.Equal(got, want) {
				return fmt.Errorf("%s: %d slices with %v; want %d with %v", step, n, got, nSlices, want)
			}
			return nil
		})
	}
	const (
		ports8080 = "http=8080,metrics=9090"
		ports8081 = "http=8081,metrics=9090"
	)
	readyIn := func(ports string) endpointState { return endpointState{ready: true, serving: true, ports: ports} }

	mkPod("shop-1", "shop", 8080)
	mkPod("shop-2", "shop", 8081)
	status("shop-1", "10.244.1.1", true)
	status("shop-2", "10.244.1.2", true)
	// One slice per distinct port mapping.
	expect("two ready pods", 2, map[string]endpointState{"10.244.1.1": readyIn(ports8080), "10.244.1.2": readyIn(ports8081)})

	status("shop-1", "10.244.1.1", false)
	expect("shop-1 unready", 2, map[string]endpointState{"10.244.1.1": {ports: ports8080}, "10.244.1.2": readyIn(ports8081)})

	status("shop-1", "10.244.1.1", true)
	if err := pods.Delete(ctx, "shop-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Terminating: not ready, still serving while its Ready condition holds.
	expect("shop-1 terminating", 2, map[string]endpointState{
		"10.244.1.1": {serving: true, terminating: true, ports: ports8080}, "10.244.1.2": readyIn(ports8081)})

	zero := int64(0)
	if err := pods.Delete(ctx, "shop-1", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	expect("shop-1 deleted", 1, map[string]endpointState{"10.244.1.2": readyIn(ports8081)})

	status("shop-2", "10.244.1.22", true)
	expect("shop-2 changed IP", 1, map[string]endpointState{"10.244.1.22": readyIn(ports8081)})

	relabel("shop-2", "elsewhere")
	// No endpoint left: one placeholder slice without endpoints.
	expect("shop-2 relabelled away", 1, map[string]endpointState{})
	eventually(t, 10*time.Second, func() error {
		ep, err := cs.CoreV1().Endpoints("default").Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(ep.Subsets) != 0 {
			return fmt.Errorf("Endpoints of a service without pods = %+v; want no subsets", ep.Subsets)
		}
		return nil
	})

	relabel("shop-2", "shop")
	expect("shop-2 relabelled back", 1, map[string]endpointState{"10.244.1.22": readyIn(ports8081)})

	// The Service's selector moves to other pods.
	mkPod("next-1", "next", 8080)
	status("next-1", "10.244.1.3", true)
	cur, err := cs.CoreV1().Services("default").Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Selector = map[string]string{"app": "next"}
	if cur, err = cs.CoreV1().Services("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("selector changed", 1, map[string]endpointState{"10.244.1.3": readyIn(ports8080)})

	// The Service's ports change: a numeric targetPort and one port fewer.
	cur.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8443)}}
	if _, err := cs.CoreV1().Services("default").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("ports changed", 1, map[string]endpointState{"10.244.1.3": readyIn("http=8443")})
	eventually(t, 10*time.Second, func() error {
		ep, err := cs.CoreV1().Endpoints("default").Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || ep.Subsets[0].Addresses[0].IP != "10.244.1.3" ||
			len(ep.Subsets[0].Ports) != 1 || ep.Subsets[0].Ports[0].Port != 8443 {
			return fmt.Errorf("Endpoints after port change = %+v", ep.Subsets)
		}
		return nil
	})
}

// TestThousandEndpoints backs one Service with 1,050 ready pods: the slices split
// at 100 endpoints and hold all of them, and the legacy Endpoints object stops at
// 1,000 addresses with the over-capacity annotation.
func TestThousandEndpoints(t *testing.T) {
	const n = 1050
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "big"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "big"},
		Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
	}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("big-%d", i), Labels: map[string]string{"app": "big"}},
					Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
				}
				p, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
				if err == nil {
					ip := fmt.Sprintf("10.244.%d.%d", 10+i/250, 1+i%250)
					p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
						Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
					_, err = cs.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
				if err != nil {
					mu.Lock()
					firstErr = firstError(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	eventually(t, 60*time.Second, func() error {
		got, nSlices, err := sliceStates(cs, "default", "big")
		if err != nil {
			return err
		}
		ready := 0
		for _, e := range got {
			if e.ready {
				ready++
			}
		}
		if ready != n || nSlices != (n+99)/100 {
			return fmt.Errorf("%d ready endpoints in %d slices; want %d in %d", ready, nSlices, n, (n+99)/100)
		}
		return nil
	})
	list, err := cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=big"})
	if err != nil {
		t.Fatal(err)
	}
	sizes := make([]int, 0, len(list.Items))
	for _, sl := range list.Items {
		sizes = append(sizes, len(sl.Endpoints))
	}
	if slices.Max(sizes) > 100 {
		t.Errorf("slice sizes %v; want none over 100", sizes)
	}
	eventually(t, 30*time.Second, func() error {
		ep, err := cs.CoreV1().Endpoints("default").Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			return err
		}
		addrs := 0
		for _, ss := range ep.Subsets {
			addrs += len(ss.Addresses) + len(ss.NotReadyAddresses)
		}
		if addrs != 1000 || ep.Annotations[corev1.EndpointsOverCapacity] != "truncated" {
			return fmt.Errorf("Endpoints has %d addresses and annotations %v; want 1000 and %s=truncated", addrs, ep.Annotations, corev1.EndpointsOverCapacity)
		}
		return nil
	})
}

// firstError keeps the first non-nil error.
func firstError(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
