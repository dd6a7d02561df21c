package proxy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func svc(name string, mutate func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

type sliceEP struct {
	addr                        string
	ready, serving, terminating bool
	node                        string
}

func slice(service, name string, portName string, port int32, eps ...sliceEP) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{e.addr}, NodeName: ptr.To(e.node),
			Conditions: discoveryv1.EndpointConditions{Ready: &e.ready, Serving: &e.serving, Terminating: &e.terminating}})
	}
	return s
}

func ready(addr, node string) sliceEP {
	return sliceEP{addr: addr, ready: true, serving: true, node: node}
}

func addrs(eps []Endpoint) []string {
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.AddrPort().String()
	}
	return out
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		services []*corev1.Service
		slices   []*discoveryv1.EndpointSlice
		// want: port name -> cluster endpoints on node-a, and external ones
		wantPorts    []string
		wantCluster  map[string][]string
		wantExternal map[string][]string
	}{
		{
			name:        "ready endpoints from two slices",
			services:    []*corev1.Service{svc("web", nil)},
			slices:      []*discoveryv1.EndpointSlice{slice("web", "a", "http", 8080, ready("10.244.1.2", "node-a")), slice("web", "b", "http", 8080, ready("10.244.2.2", "node-b"))},
			wantPorts:   []string{"ns/web:http"},
			wantCluster: map[string][]string{"ns/web:http": {"10.244.1.2:8080", "10.244.2.2:8080"}},
		},
		{
			name:     "not ready excluded; terminating used only when nothing is ready",
			services: []*corev1.Service{svc("web", nil), svc("drain", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", nil })},
			slices: []*discoveryv1.EndpointSlice{
				slice("web", "a", "http", 8080, ready("10.244.1.2", "node-a"), sliceEP{addr: "10.244.1.3"}, sliceEP{addr: "10.244.1.4", serving: true, terminating: true}),
				slice("drain", "b", "http", 8080, sliceEP{addr: "10.244.1.5", serving: true, terminating: true}, sliceEP{addr: "10.244.1.6", terminating: true}),
			},
			wantPorts:   []string{"ns/drain:http", "ns/web:http"},
			wantCluster: map[string][]string{"ns/web:http": {"10.244.1.2:8080"}, "ns/drain:http": {"10.244.1.5:8080"}},
		},
		{
			name: "headless, ExternalName and other proxies' Services are skipped",
			services: []*corev1.Service{
				svc("headless", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} }),
				svc("ext", func(s *corev1.Service) {
					s.Spec.Type, s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "", nil, "example.org"
				}),
				svc("other", func(s *corev1.Service) { s.Labels = map[string]string{LabelServiceProxyName: "foo"} }),
			},
			wantPorts: nil,
		},
		{
			name: "local traffic policies",
			services: []*corev1.Service{svc("lb", func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeLoadBalancer
				s.Spec.Ports[0].NodePort = 30080
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
				s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
			})},
			slices:       []*discoveryv1.EndpointSlice{slice("lb", "a", "http", 8080, ready("10.244.1.2", "node-a"), ready("10.244.2.2", "node-b"))},
			wantPorts:    []string{"ns/lb:http"},
			wantCluster:  map[string][]string{"ns/lb:http": {"10.244.1.2:8080"}},
			wantExternal: map[string][]string{"ns/lb:http": {"10.244.1.2:8080"}},
		},
		{
			name:        "slice port of another name is not used",
			services:    []*corev1.Service{svc("web", nil)},
			slices:      []*discoveryv1.EndpointSlice{slice("web", "a", "metrics", 9090, ready("10.244.1.2", "node-a"))},
			wantPorts:   []string{"ns/web:http"},
			wantCluster: map[string][]string{"ns/web:http": {}},
		},
		{
			name:     "an address in two slices keeps its best state",
			services: []*corev1.Service{svc("web", nil)},
			slices: []*discoveryv1.EndpointSlice{
				slice("web", "a", "http", 8080, sliceEP{addr: "10.244.1.2"}),
				slice("web", "b", "http", 8080, ready("10.244.1.2", "node-a")),
			},
			wantPorts:   []string{"ns/web:http"},
			wantCluster: map[string][]string{"ns/web:http": {"10.244.1.2:8080"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := Build(IPv4, tc.services, tc.slices)
			if err := snap.Validate(); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sp := range snap.Ports {
				names = append(names, sp.Name.String())
				if want, ok := tc.wantCluster[sp.Name.String()]; ok {
					if got := addrs(sp.ClusterEndpoints("node-a")); !slices.Equal(got, want) {
						t.Errorf("%s cluster endpoints = %v; want %v", sp.Name, got, want)
					}
				}
				if want, ok := tc.wantExternal[sp.Name.String()]; ok {
					if got := addrs(sp.ExternalEndpoints("node-a")); !slices.Equal(got, want) {
						t.Errorf("%s external endpoints = %v; want %v", sp.Name, got, want)
					}
				}
			}
			if !slices.Equal(names, tc.wantPorts) {
				t.Errorf("ports = %v; want %v", names, tc.wantPorts)
			}
		})
	}
}

func TestBuildServiceFields(t *testing.T) {
	s := svc("lb", func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 30080
		s.Spec.ExternalIPs = []string{"192.0.2.10", "2001:db8::1"}
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		s.Spec.HealthCheckNodePort = 31000
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		proxyMode := corev1.LoadBalancerIPModeProxy
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.20"}, {IP: "192.0.2.21", IPMode: &proxyMode}, {Hostname: "lb.example"}}
	})
	snap := Build(IPv4, []*corev1.Service{s}, nil)
	if len(snap.Ports) != 1 {
		t.Fatalf("ports = %d", len(snap.Ports))
	}
	sp := snap.Ports[0]
	got := fmt.Sprintf("%s %d %v %v %v %t %d", sp.ClusterIP, sp.NodePort, sp.ExternalIPs, sp.LoadBalancerIPs, sp.AffinityTimeout, sp.ExternalLocal, sp.HealthCheckNodePort)
	want := fmt.Sprintf("10.96.0.10 30080 [192.0.2.10] [192.0.2.20] %v true 31000", 10800*time.Second)
	if got != want {
		t.Errorf("service port = %s; want %s", got, want)
	}
}

func TestBuilderReusesUnchangedServices(t *testing.T) {
	web, api := svc("web", nil), svc("api", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", nil })
	web.ResourceVersion, api.ResourceVersion = "1", "2"
	webSlice := slice("web", "web-a", "http", 8080, ready("10.244.1.2", "node-a"))
	apiSlice := slice("api", "api-a", "http", 8080, ready("10.244.1.3", "node-a"))
	webSlice.ResourceVersion, apiSlice.ResourceVersion = "3", "4"
	b := NewBuilder(IPv4)
	first := b.Build([]*corev1.Service{web, api}, []*discoveryv1.EndpointSlice{webSlice, apiSlice})

	changed := apiSlice.DeepCopy()
	changed.ResourceVersion = "5"
	changed.Endpoints = append(changed.Endpoints, slice("api", "x", "http", 8080, ready("10.244.1.4", "node-a")).Endpoints...)
	second := b.Build([]*corev1.Service{web, api}, []*discoveryv1.EndpointSlice{webSlice, changed})
	if first.Ports[1] != second.Ports[1] {
		t.Errorf("web's port was rebuilt though nothing of it changed")
	}
	if first.Ports[0] == second.Ports[0] || len(second.Ports[0].Endpoints) != 2 {
		t.Errorf("api's port = %+v; want a new one with 2 endpoints", second.Ports[0])
	}
	if got := Build(IPv4, []*corev1.Service{web, api}, []*discoveryv1.EndpointSlice{webSlice, changed}); !samePorts(got, second) {
		t.Errorf("reused builder differs from a fresh Build")
	}
}

func samePorts(a, b *Snapshot) bool {
	if len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.Ports {
		if fmt.Sprintf("%+v", *a.Ports[i]) != fmt.Sprintf("%+v", *b.Ports[i]) {
			return false
		}
	}
	return true
}

// TestBuilderUpdateMatchesBuild applies random changes to Services and slices
// and checks after each that Update, told only which Services changed, makes
// the snapshot a fresh Build makes, and reuses unchanged ports by pointer.
func TestBuilderUpdateMatchesBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	services := map[string]*corev1.Service{}
	slicesOf := map[string]*discoveryv1.EndpointSlice{}
	rv := 0
	next := func() string { rv++; return fmt.Sprint(rv) }
	list := func() ([]*corev1.Service, []*discoveryv1.EndpointSlice) {
		var ss []*corev1.Service
		var es []*discoveryv1.EndpointSlice
		for _, s := range services {
			ss = append(ss, s)
		}
		for _, e := range slicesOf {
			es = append(es, e)
		}
		return ss, es
	}
	lookup := func(_, name string) (*corev1.Service, []*discoveryv1.EndpointSlice) {
		var es []*discoveryv1.EndpointSlice
		for _, e := range slicesOf {
			if e.Labels[discoveryv1.LabelServiceName] == name {
				es = append(es, e)
			}
		}
		return services[name], es
	}
	b := NewBuilder(IPv4)
	b.Build(list())
	for step := range 400 {
		name := fmt.Sprintf("svc-%02d", rng.IntN(30))
		switch rng.IntN(5) {
		case 0: // create or change the Service
			ip := fmt.Sprintf("10.96.1.%d", rng.IntN(200)+1)
			s := svc(name, func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = ip, []string{ip}
				if rng.IntN(2) == 0 {
					s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP})
				}
				if rng.IntN(4) == 0 {
					s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, nil
				}
			})
			s.UID, s.ResourceVersion = types.UID("uid-"+name), next()
			services[name] = s
		case 1:
			delete(services, name)
		case 2, 3: // a slice of it changes
			var eps []sliceEP
			for j := range rng.IntN(4) {
				e := ready(fmt.Sprintf("10.244.%d.%d", rng.IntN(3), j+1), "node-a")
				e.ready = rng.IntN(3) > 0
				eps = append(eps, e)
			}
			sl := slice(name, name+"-"+fmt.Sprint(rng.IntN(2)), "http", 8080, eps...)
			sl.ResourceVersion = next()
			slicesOf[sl.Name] = sl
		case 4:
			delete(slicesOf, name+"-"+fmt.Sprint(rng.IntN(2)))
		}
		prev := slices.Clone(b.sorted)
		got := b.Update([][2]string{{"ns", name}}, lookup)
		ss, es := list()
		want := Build(IPv4, ss, es)
		if err := got.Validate(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(got.Ports) != len(want.Ports) {
			t.Fatalf("step %d: %d ports, want %d", step, len(got.Ports), len(want.Ports))
		}
		for i := range got.Ports {
			g, w := *got.Ports[i], *want.Ports[i]
			if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Fatalf("step %d, port %d:\n got %+v\nwant %+v", step, i, g, w)
			}
		}
		for _, p := range got.Ports {
			if p.Name.Name != name && !slices.Contains(prev, p) {
				t.Fatalf("step %d: port %s of an unchanged Service was rebuilt", step, p.Name)
			}
		}
	}
}
