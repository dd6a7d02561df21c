package mirroring

// Addresses: user endpoints use 192.0.2.0/24, 1.2.3.4 (the seed example) and
// 2001:db8::/64.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

const ns = "default"

func service(name string, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("svc-" + name)},
		Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func newEndpoints(name string, mutate ...func(*corev1.Endpoints)) *corev1.Endpoints {
	e := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("ep-" + name)},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
		}},
	}
	for _, m := range mutate {
		m(e)
	}
	return e
}

// mirrored is a slice as this controller would have written it for svc.
func mirrored(name string, svc *corev1.Service, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("slice-" + name), ResourceVersion: "7",
			Labels:          map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: ControllerName},
			OwnerReferences: ownerRefs(svc)},
		AddressType: family,
		Ports:       ports,
		Endpoints:   eps,
	}
}

func port(name string, p int32) discoveryv1.EndpointPort {
	proto := corev1.ProtocolTCP
	return discoveryv1.EndpointPort{Name: &name, Port: &p, Protocol: &proto}
}

func endpoint(ip string, ready bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
}

// newController builds a controller whose informer caches hold objs, without
// starting anything, and a fake client holding the same objects. The client
// names created objects from their generateName, as the API server does.
func newController(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	client := newClient(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, Options{})
	for _, obj := range objs {
		var err error
		switch o := obj.(type) {
		case *corev1.Service:
			err = factory.Core().V1().Services().Informer().GetStore().Add(o)
		case *corev1.Endpoints:
			err = factory.Core().V1().Endpoints().Informer().GetStore().Add(o)
		case *discoveryv1.EndpointSlice:
			err = factory.Discovery().V1().EndpointSlices().Informer().GetStore().Add(o)
		default:
			t.Fatalf("unexpected object %T", obj)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return c, client
}

// newClient is a fake client holding objs that names created objects from their
// generateName, as the API server does.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objs...)
	var mu sync.Mutex
	n := 0
	client.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject()
		m, err := metaOf(obj)
		if err == nil && m.GetName() == "" && m.GetGenerateName() != "" {
			mu.Lock()
			defer mu.Unlock()
			n++
			m.SetName(fmt.Sprintf("%s%05d", m.GetGenerateName(), n))
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", n)))
		}
		return false, nil, nil
	})
	return client
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m, nil
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

// storedSlices returns the fake client's EndpointSlices.
func storedSlices(t *testing.T, client *fake.Clientset) []discoveryv1.EndpointSlice {
	t.Helper()
	l, err := client.DiscoveryV1().EndpointSlices("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
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
	eps, err := client.CoreV1().Endpoints("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range eps.Items {
		out = append(out, &eps.Items[i])
	}
	for _, s := range storedSlices(t, client) {
		out = append(out, s.DeepCopy())
	}
	return out
}

// seed decodes the project's seed manifest of a selectorless Service with
// hand-written Endpoints, giving the objects the UIDs a server would.
func seed(t *testing.T) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile("testdata/selectorless-with-endpoints.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for _, doc := range strings.Split(string(data), "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decode seed: %v", err)
		}
		m, _ := metaOf(obj)
		m.SetNamespace(ns)
		m.SetUID(types.UID("seed-" + strings.ToLower(obj.GetObjectKind().GroupVersionKind().Kind)))
		out = append(out, obj)
	}
	return out
}
