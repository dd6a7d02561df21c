package endpoints

// Addresses: Pods use 10.0.0.0/24 and fd00::/64; Services 10.96.0.0/16.

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

const ns = "default"

var created = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

func service(name string, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("svc-" + name), CreationTimestamp: created,
			Labels: map[string]string{"team": "web"}},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": name},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func pod(name, app, ip string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}},
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      ip,
			PodIPs:     []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: created}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func terminating(p *corev1.Pod) {
	now := metav1.NewTime(created.Add(time.Minute))
	p.DeletionTimestamp = &now
}

// addr is the address the controller writes for a Pod made by pod().
func addr(name, ip string) corev1.EndpointAddress {
	node := "node-a"
	return corev1.EndpointAddress{IP: ip, NodeName: &node,
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name, UID: types.UID("uid-" + name)}}
}

func tcp(name string, port int32) corev1.EndpointPort {
	return corev1.EndpointPort{Name: name, Port: port, Protocol: corev1.ProtocolTCP}
}

// newController builds a controller whose informer caches hold objs, without
// starting anything, and a fake client holding the same objects.
func newController(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	c, client, _ := newControllerWithFactory(t, objs...)
	return c, client
}

func newControllerWithFactory(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset, informers.SharedInformerFactory) {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, Options{})
	for _, obj := range objs {
		cacheObject(t, factory, obj)
	}
	return c, client, factory
}

// cacheObject puts obj into the informer cache of its kind.
func cacheObject(t *testing.T, factory informers.SharedInformerFactory, obj runtime.Object) {
	t.Helper()
	var err error
	switch o := obj.(type) {
	case *corev1.Service:
		err = factory.Core().V1().Services().Informer().GetStore().Update(o)
	case *corev1.Pod:
		err = factory.Core().V1().Pods().Informer().GetStore().Update(o)
	case *corev1.Endpoints:
		err = factory.Core().V1().Endpoints().Informer().GetStore().Update(o)
	default:
		t.Fatalf("unexpected object %T", obj)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// writes lists the write actions the fake client recorded, as "verb resource".
func writes(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		switch a.GetVerb() {
		case "create", "update", "delete", "patch", "deletecollection":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

// stored returns every object of the fake client, to restart a controller on.
func stored(t *testing.T, client *fake.Clientset) []runtime.Object {
	t.Helper()
	ctx := context.Background()
	var out []runtime.Object
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range svcs.Items {
		out = append(out, &svcs.Items[i])
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		out = append(out, &pods.Items[i])
	}
	eps, err := client.CoreV1().Endpoints("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range eps.Items {
		out = append(out, &eps.Items[i])
	}
	return out
}

func getEndpoints(t *testing.T, client *fake.Clientset, name string) *corev1.Endpoints {
	t.Helper()
	ep, err := client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("endpoints"), ns, name)
	if err != nil {
		return nil
	}
	return ep.(*corev1.Endpoints)
}

func manyPods(n int, app string) []runtime.Object {
	out := make([]runtime.Object, 0, n)
	for i := range n {
		out = append(out, pod(fmt.Sprintf("p%04d", i), app, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)))
	}
	return out
}
