package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Pod addresses in this file come from 10.244.0.0/16; they are only data.

// readyPod creates a pod on node and reports it Running and Ready with ip.
func readyPod(t *testing.T, cs kubernetes.Interface, app, name, node, ip string, ready bool) {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
			Name: "c", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
	p, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setReady(t, cs, p, ip, ready)
}

func setReady(t *testing.T, cs kubernetes.Interface, p *corev1.Pod, ip string, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sliceEndpoints returns ip -> ready of the Service's managed slices.
func sliceEndpoints(cs kubernetes.Interface, svc string) (map[string]bool, []discoveryv1.EndpointSlice, error) {
	list, err := cs.DiscoveryV1().EndpointSlices("default").List(context.Background(), metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=endpointslice-controller.k8s.io",
	})
	if err != nil {
		return nil, nil, err
	}
	out := map[string]bool{}
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			out[e.Addresses[0]] = e.Conditions.Ready != nil && *e.Conditions.Ready
		}
	}
	return out, list.Items, nil
}

// TestEndpointSlicesFollowPods checks the slice and Endpoints of a Service as its
// pods turn ready and unready, that one readiness flip is one slice write, and that
// a restart rewrites nothing.
func TestEndpointSlicesFollowPods(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{"topology.kubernetes.io/zone": "z1"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
	}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readyPod(t, cs, "web", "web-1", "node-a", "10.244.0.11", true)
	readyPod(t, cs, "web", "web-2", "node-a", "10.244.0.12", false)
	eventually(t, 10*time.Second, func() error {
		eps, slices, err := sliceEndpoints(cs, "web")
		if err != nil {
			return err
		}
		if len(slices) != 1 || len(eps) != 2 || !eps["10.244.0.11"] || eps["10.244.0.12"] {
			return fmt.Errorf("slice endpoints = %v", eps)
		}
		sl := slices[0]
		if len(sl.Ports) != 1 || *sl.Ports[0].Port != 8080 || sl.OwnerReferences[0].Name != "web" {
			return fmt.Errorf("slice ports/owner = %+v %+v", sl.Ports, sl.OwnerReferences)
		}
		for _, e := range sl.Endpoints {
			if e.NodeName == nil || *e.NodeName != "node-a" || e.Zone == nil || *e.Zone != "z1" || e.TargetRef == nil {
				return fmt.Errorf("endpoint fields = %+v", e)
			}
		}
		ep, err := cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || len(ep.Subsets[0].NotReadyAddresses) != 1 {
			return fmt.Errorf("endpoints subsets = %+v", ep.Subsets)
		}
		return nil
	})

	// One readiness flip: exactly one slice write.
	_, slices, _ := sliceEndpoints(cs, "web")
	w, err := cs.DiscoveryV1().EndpointSlices("default").Watch(ctx, metav1.ListOptions{
		ResourceVersion: slices[0].ResourceVersion, LabelSelector: discoveryv1.LabelServiceName + "=web",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	p, _ := cs.CoreV1().Pods("default").Get(ctx, "web-2", metav1.GetOptions{})
	setReady(t, cs, p, "10.244.0.12", true)
	writes := 0
	deadline := time.After(3 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Modified || ev.Type == watch.Added || ev.Type == watch.Deleted {
				writes++
			}
		case <-deadline:
			done = true
		}
	}
	if writes != 1 {
		t.Errorf("slice writes for one readiness flip = %d; want 1", writes)
	}

	// A restart rewrites nothing.
	_, before, _ := sliceEndpoints(cs, "web")
	epBefore, _ := cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
	s.stop()
	s.start()
	cs = s.client()
	// Wait until the new controllers act on a fresh change elsewhere, then compare.
	readyPod(t, cs, "other", "other-1", "node-a", "10.244.0.13", true)
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "other"}, Ports: []corev1.ServicePort{{Port: 81}}}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		eps, _, err := sliceEndpoints(cs, "other")
		if err != nil || len(eps) != 1 {
			return fmt.Errorf("controllers not running after restart: %v %v", eps, err)
		}
		return nil
	})
	_, after, _ := sliceEndpoints(cs, "web")
	epAfter, _ := cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
	if len(after) != 1 || after[0].Name != before[0].Name || after[0].ResourceVersion != before[0].ResourceVersion {
		t.Errorf("web's slice after restart = %s@%s; want %s@%s unchanged", after[0].Name, after[0].ResourceVersion, before[0].Name, before[0].ResourceVersion)
	}
	if epAfter.ResourceVersion != epBefore.ResourceVersion {
		t.Errorf("web's Endpoints rewritten by the restart: resourceVersion %s -> %s", epBefore.ResourceVersion, epAfter.ResourceVersion)
	}
}
