package apiserver

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// createCorpus returns objects of every test resource in the shapes a create can
// bring: defaulted and not, empty and nil maps and lists, duplicates, status,
// last-applied annotations, owner references, and the example manifests.
func createCorpus(t *testing.T, s *Server) map[string][]runtime.Object {
	t.Helper()
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	local := corev1.ServiceExternalTrafficPolicyLocal
	single := corev1.IPFamilyPolicySingleStack
	yes := true
	svc := func(mut func(*corev1.Service)) runtime.Object {
		o := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", Labels: map[string]string{"app": "a"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "a"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		}
		if mut != nil {
			mut(o)
		}
		return o
	}
	out := map[string][]runtime.Object{
		"services": {
			svc(nil),
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "bare"}},
			svc(func(o *corev1.Service) { o.Labels = map[string]string{} }),
			svc(func(o *corev1.Service) { o.Spec.Ports = []corev1.ServicePort{} }),
			svc(func(o *corev1.Service) { o.Spec.Selector = map[string]string{} }),
			svc(func(o *corev1.Service) {
				o.Spec.Ports = append(o.Spec.Ports, corev1.ServicePort{Port: 80, Protocol: udp, Name: "dns"}, corev1.ServicePort{Port: 80, Protocol: udp, Name: "dup"})
			}),
			svc(func(o *corev1.Service) { o.Spec.Ports = append(o.Spec.Ports, o.Spec.Ports[0]) }),
			svc(func(o *corev1.Service) {
				o.Spec.Type = corev1.ServiceTypeLoadBalancer
				o.Spec.ExternalTrafficPolicy = local
				o.Spec.Ports[0].Protocol, o.Spec.Ports[0].NodePort, o.Spec.Ports[0].Name = tcp, 30080, "http"
				o.Spec.HealthCheckNodePort = 31000
				o.Spec.IPFamilyPolicy = &single
				o.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
				o.Spec.ClusterIP, o.Spec.ClusterIPs = "10.96.0.5", []string{"10.96.0.5"}
				o.Spec.AllocateLoadBalancerNodePorts = &yes
				o.Spec.ExternalIPs = []string{"1.2.3.4"}
				o.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "5.6.7.8"}}
			}),
			svc(func(o *corev1.Service) {
				o.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"apiVersion":"v1","kind":"Service"}`, "x": ""}
				o.Finalizers = []string{"example.com/f"}
				o.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "u"}}
				o.GenerateName = "s-"
				o.UID, o.Generation = "uid", 1
				o.CreationTimestamp = metav1.Now()
			}),
			svc(func(o *corev1.Service) {
				o.Spec.Type, o.Spec.ExternalName, o.Spec.Selector, o.Spec.Ports = corev1.ServiceTypeExternalName, "example.com", nil, nil
			}),
			svc(func(o *corev1.Service) { o.Spec.ClusterIP = corev1.ClusterIPNone }),
		},
		"pods": {
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i",
				Ports: []corev1.ContainerPort{{ContainerPort: 80}}, Env: []corev1.EnvVar{{Name: "A", Value: "1"}}}}}},
			// A container without its key field (name).
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "i"}}}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "other",
				Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:nodeName":{}}}`)}}}},
				Spec: corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		},
		"namespaces": {
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"a": "b"}},
				Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		},
		"endpoints": {
			&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"}},
			&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"}, Subsets: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2", TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "p"}}},
				NotReadyAddresses: []corev1.EndpointAddress{},
				Ports:             []corev1.EndpointPort{{Port: 80, Protocol: tcp}, {Name: "b", Port: 81}},
			}}},
		},
		"endpointslices": {
			&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "ns"}, AddressType: discoveryv1.AddressTypeIPv4},
			&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "s"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}},
					{Addresses: []string{"10.0.0.2"}, Hints: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z"}}}}},
				Ports: []discoveryv1.EndpointPort{{Name: new(""), Port: new(int32(80))}, {}}},
		},
	}
	// The example manifests, decoded as a create decodes them.
	dir := filepath.Join("..", "registry", "service", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("example manifests in %s: %v", dir, err)
	}
	info, _ := s.codecs.info(runtime.ContentTypeYAML)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs := utilyaml.NewDocumentDecoder(nopCloser{bytes.NewReader(data)})
		for {
			buf := make([]byte, 1<<20)
			n, err := docs.Read(buf)
			if err != nil {
				break
			}
			doc := buf[:n]
			var resource string
			switch {
			case bytes.Contains(doc, []byte("kind: Service\n")):
				resource = "services"
			case bytes.Contains(doc, []byte("kind: Endpoints\n")):
				resource = "endpoints"
			default:
				continue
			}
			var warn warnings
			obj, err := s.decodeAs(info, s.byPath["api/v1"][resource], doc, "Ignore", &warn)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out[resource] = append(out[resource], obj)
		}
	}
	return out
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// TestCreateFieldsMatchFieldManager pins that the create path's managed fields are
// the field manager's own, for every resource and shape in the corpus, both as
// decoded and after the create strategy (defaults, server metadata) ran.
func TestCreateFieldsMatchFieldManager(t *testing.T) {
	pods := &Resource{Version: "v1", Resource: "pods", Kind: "Pod", ListKind: "PodList", Namespaced: true, Subresources: []string{"status"},
		New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
		Strategy: Typed[*corev1.Pod]{}}
	s, err := New(Config{Resources: append(testResources(), pods)})
	if err != nil {
		t.Fatal(err)
	}
	fast, slow := 0, 0
	for resource, objs := range createCorpus(t, s) {
		var res *Resource
		for _, set := range s.byPath {
			if r, ok := set[resource]; ok {
				res = r
			}
		}
		cf, fm := s.creates[resource], s.managers[resource+"/"]
		for i, obj := range objs {
			for _, prepared := range []bool{false, true} {
				for _, manager := range []string{"kubectl-create", "svcnet-bench", ""} {
					in := obj.DeepCopyObject()
					in.GetObjectKind().SetGroupVersionKind(res.GVK())
					if prepared {
						acc, _ := meta.Accessor(in)
						if res.Namespaced && acc.GetNamespace() == "" {
							acc.SetNamespace("ns")
						}
						acc.SetResourceVersion("")
						if _, err := s.prepareCreate(request{res: res, namespace: acc.GetNamespace(), verb: "create"}, in); err != nil {
							// An invalid object is refused before managed fields.
							continue
						}
					}
					want := fm.UpdateNoErrors(res.New(), in.DeepCopyObject(), manager)
					if _, ok := cf.fast(in.DeepCopyObject(), manager); ok {
						fast++
					} else {
						slow++
					}
					got := cf.track(in.DeepCopyObject(), manager)
					name := resource + "/" + strings.Join([]string{itoa(i), map[bool]string{true: "prepared", false: "decoded"}[prepared], manager}, "/")
					compareManaged(t, name, want, got)
				}
			}
		}
	}
	// The field manager's cases: no manager, no field set at all, managedFields sent.
	if fast < 50 || slow < 10 {
		t.Errorf("the fast path ran for %d cases, the field manager for %d", fast, slow)
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func compareManaged(t *testing.T, name string, want, got runtime.Object) {
	t.Helper()
	wa, _ := meta.Accessor(want)
	ga, _ := meta.Accessor(got)
	wm, gm := wa.GetManagedFields(), ga.GetManagedFields()
	for _, m := range [][]metav1.ManagedFieldsEntry{wm, gm} {
		for i := range m {
			if m[i].Time == nil {
				t.Errorf("%s: an entry without time", name)
			}
			m[i].Time = nil
		}
	}
	if !reflect.DeepEqual(wm, gm) {
		t.Errorf("%s: managed fields differ\nfield manager: %s\ncreate path:   %s", name, fieldsString(wm), fieldsString(gm))
	}
	wa.SetManagedFields(nil)
	ga.SetManagedFields(nil)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: the objects differ beyond managed fields:\n%#v\n%#v", name, want, got)
	}
}

func fieldsString(m []metav1.ManagedFieldsEntry) string {
	var b strings.Builder
	for _, e := range m {
		b.WriteString(e.Manager + " " + string(e.Operation) + " " + e.APIVersion + " " + e.Subresource + " ")
		if e.FieldsV1 != nil {
			b.Write(e.FieldsV1.Raw)
		}
		b.WriteString("; ")
	}
	return b.String()
}

// BenchmarkCreateFields compares the create path's managed fields with the field
// manager's for bench/api's Service.
func BenchmarkCreateFields(b *testing.B) {
	s, err := New(Config{Resources: testResources()})
	if err != nil {
		b.Fatal(err)
	}
	res := s.byPath["api/v1"]["services"]
	obj := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", Labels: map[string]string{"app": "a", "tier": "b"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "a"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	obj.SetGroupVersionKind(res.GVK())
	if _, err := s.prepareCreate(request{res: res, namespace: "ns", verb: "create"}, obj); err != nil {
		b.Fatal(err)
	}
	b.Run("fieldmanager", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			s.managers["services/"].UpdateNoErrors(res.New(), obj.DeepCopyObject(), "m")
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	b.Run("create", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			s.creates["services"].track(obj.DeepCopyObject(), "m")
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
}
