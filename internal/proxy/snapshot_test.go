package proxy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
	conflicts := 0
	t.Cleanup(func() {
		if conflicts == 0 {
			t.Error("no step had a conflict; the test does not exercise them")
		}
	})
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
				// A small pool, so that Services contest addresses.
				if rng.IntN(2) == 0 {
					s.Spec.ExternalIPs = []string{fmt.Sprintf("192.0.2.%d", rng.IntN(3)+1), fmt.Sprintf("10.96.1.%d", rng.IntN(200)+1)}
				}
				if rng.IntN(3) == 0 {
					s.Spec.Type = corev1.ServiceTypeNodePort
					s.Spec.Ports[0].NodePort = int32(30000 + rng.IntN(3))
				}
				s.CreationTimestamp = metav1.NewTime(time.Unix(int64(rng.IntN(3)), 0))
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
		if step%7 == 0 { // now and then a full Build by the same builder
			got = b.Build(ss, es)
		}
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
		if fmt.Sprint(got.Conflicts) != fmt.Sprint(want.Conflicts) {
			t.Fatalf("step %d: conflicts\n got %v\nwant %v", step, got.Conflicts, want.Conflicts)
		}
		conflicts += len(got.Conflicts)
		losers := map[PortName]bool{}
		for _, c := range got.Conflicts {
			for _, l := range c.Losers {
				losers[l] = true
			}
		}
		for _, p := range got.Ports {
			if p.Name.Name != name && !losers[p.Name] && !slices.Contains(prev, p) {
				t.Fatalf("step %d: port %s of an unchanged Service was rebuilt", step, p.Name)
			}
		}
	}
}

func TestConflictingDestinations(t *testing.T) {
	at := func(sec int64) metav1.Time { return metav1.NewTime(time.Unix(sec, 0)) }
	withIP := func(name, ip string, created int64, mutate func(*corev1.Service)) *corev1.Service {
		return svc(name, func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = ip, []string{ip}
			s.CreationTimestamp = at(created)
			if mutate != nil {
				mutate(s)
			}
		})
	}
	external := func(ips ...string) func(*corev1.Service) {
		return func(s *corev1.Service) { s.Spec.ExternalIPs = ips }
	}
	tests := []struct {
		name     string
		services []*corev1.Service
		// want: port -> its external and load balancer addresses
		want          map[string]string
		wantConflicts []string
	}{
		{
			name: "two Services name one external IP and port: the older keeps it",
			services: []*corev1.Service{
				withIP("new", "10.96.0.10", 20, external("192.0.2.50")),
				withIP("old", "10.96.0.11", 10, external("192.0.2.50", "192.0.2.51")),
			},
			want:          map[string]string{"ns/new:http": "[] []", "ns/old:http": "[192.0.2.50 192.0.2.51] []"},
			wantConflicts: []string{"192.0.2.50:80/TCP: ns/old:http keeps it, not ns/new:http"},
		},
		{
			name: "same creation time: by name",
			services: []*corev1.Service{
				withIP("b", "10.96.0.10", 10, external("192.0.2.50")),
				withIP("a", "10.96.0.11", 10, external("192.0.2.50")),
			},
			want:          map[string]string{"ns/a:http": "[192.0.2.50] []", "ns/b:http": "[] []"},
			wantConflicts: []string{"192.0.2.50:80/TCP: ns/a:http keeps it, not ns/b:http"},
		},
		{
			name: "an external IP that is another Service's cluster IP loses, even when older",
			services: []*corev1.Service{
				withIP("owner", "10.96.0.10", 20, nil),
				withIP("thief", "10.96.0.11", 10, external("10.96.0.10")),
			},
			want:          map[string]string{"ns/owner:http": "[] []", "ns/thief:http": "[] []"},
			wantConflicts: []string{"10.96.0.10:80/TCP: ns/owner:http keeps it, not ns/thief:http"},
		},
		{
			name: "one IP on different ports is no conflict",
			services: []*corev1.Service{
				withIP("a", "10.96.0.10", 10, external("192.0.2.50")),
				withIP("b", "10.96.0.11", 20, func(s *corev1.Service) {
					s.Spec.ExternalIPs = []string{"192.0.2.50"}
					s.Spec.Ports[0].Port = 81
				}),
			},
			want: map[string]string{"ns/a:http": "[192.0.2.50] []", "ns/b:http": "[192.0.2.50] []"},
		},
		{
			name: "a Service naming its own cluster IP, and an ingress IP also external: once each, no conflict",
			services: []*corev1.Service{
				withIP("lb", "10.96.0.10", 10, func(s *corev1.Service) {
					s.Spec.Type = corev1.ServiceTypeLoadBalancer
					s.Spec.ExternalIPs = []string{"10.96.0.10", "192.0.2.50"}
					s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.50"}, {IP: "192.0.2.60"}, {IP: "10.96.0.10"}}
				}),
			},
			want: map[string]string{"ns/lb:http": "[192.0.2.50] [192.0.2.60]"},
		},
		{
			name: "a load balancer IP contested with an external IP",
			services: []*corev1.Service{
				withIP("lb", "10.96.0.10", 20, func(s *corev1.Service) {
					s.Spec.Type = corev1.ServiceTypeLoadBalancer
					s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.60"}}
				}),
				withIP("ext", "10.96.0.11", 10, external("192.0.2.60")),
			},
			want:          map[string]string{"ns/ext:http": "[192.0.2.60] []", "ns/lb:http": "[] []"},
			wantConflicts: []string{"192.0.2.60:80/TCP: ns/ext:http keeps it, not ns/lb:http"},
		},
		{
			name: "two Services with one cluster IP: the second is left out",
			services: []*corev1.Service{
				withIP("a", "10.96.0.10", 10, nil),
				withIP("b", "10.96.0.10", 20, nil),
			},
			want:          map[string]string{"ns/a:http": "[] []"},
			wantConflicts: []string{"10.96.0.10:80/TCP: ns/a:http keeps it, not ns/b:http"},
		},
		{
			name: "one node port twice",
			services: []*corev1.Service{
				withIP("a", "10.96.0.10", 20, func(s *corev1.Service) {
					s.Spec.Type = corev1.ServiceTypeNodePort
					s.Spec.Ports[0].NodePort = 30080
				}),
				withIP("b", "10.96.0.11", 10, func(s *corev1.Service) {
					s.Spec.Type = corev1.ServiceTypeNodePort
					s.Spec.Ports[0].NodePort = 30080
				}),
			},
			want:          map[string]string{"ns/a:http": "[] [] 0", "ns/b:http": "[] [] 30080"},
			wantConflicts: []string{"node port 30080/TCP: ns/b:http keeps it, not ns/a:http"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := Build(IPv4, tt.services, nil)
			got := map[string]string{}
			for _, p := range snap.Ports {
				got[p.Name.String()] = fmt.Sprint(p.ExternalIPs, " ", p.LoadBalancerIPs)
				if p.NodePort != 0 || strings.Contains(tt.name, "node port") {
					got[p.Name.String()] += fmt.Sprint(" ", p.NodePort)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ports:\n got %v\nwant %v", got, tt.want)
			}
			var conflicts []string
			for _, c := range snap.Conflicts {
				conflicts = append(conflicts, c.String())
			}
			if fmt.Sprint(conflicts) != fmt.Sprint(tt.wantConflicts) {
				t.Errorf("conflicts:\n got %q\nwant %q", conflicts, tt.wantConflicts)
			}
		})
	}
}

// TestConflictWinnerGoneHandsOver deletes the Service that kept a contested
// address, incrementally, and expects the other to get it.
func TestConflictWinnerGoneHandsOver(t *testing.T) {
	mk := func(name, ip string, created int64) *corev1.Service {
		s := svc(name, func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = ip, []string{ip}
			s.Spec.ExternalIPs = []string{"192.0.2.50"}
			s.CreationTimestamp = metav1.NewTime(time.Unix(created, 0))
		})
		s.UID, s.ResourceVersion = types.UID(name), "1"
		return s
	}
	services := map[string]*corev1.Service{"old": mk("old", "10.96.0.10", 10), "new": mk("new", "10.96.0.11", 20)}
	b := NewBuilder(IPv4)
	first := b.Build([]*corev1.Service{services["old"], services["new"]}, nil)
	if len(first.Conflicts) != 1 || len(first.Ports[0].ExternalIPs) != 0 || len(first.Ports[1].ExternalIPs) != 1 {
		t.Fatalf("first build: conflicts %v, ports %+v %+v", first.Conflicts, *first.Ports[0], *first.Ports[1])
	}
	delete(services, "old")
	got := b.Update([][2]string{{"ns", "old"}}, func(_, name string) (*corev1.Service, []*discoveryv1.EndpointSlice) {
		return services[name], nil
	})
	if len(got.Conflicts) != 0 || len(got.Ports) != 1 || fmt.Sprint(got.Ports[0].ExternalIPs) != "[192.0.2.50]" {
		t.Fatalf("after the winner went: conflicts %v, ports %d", got.Conflicts, len(got.Ports))
	}
}

func TestSourceRanges(t *testing.T) {
	tests := []struct {
		name   string
		typ    corev1.ServiceType
		ranges []string
		want   string
	}{
		{name: "padded, unmasked, repeated", typ: corev1.ServiceTypeLoadBalancer,
			ranges: []string{" 10.1.2.3/16", "10.1.0.0/16 ", "192.0.2.0/24"}, want: "[10.1.0.0/16 192.0.2.0/24]"},
		{name: "the other family is ignored", typ: corev1.ServiceTypeLoadBalancer,
			ranges: []string{"2001:db8::/32", "192.0.2.0/24"}, want: "[192.0.2.0/24]"},
		{name: "only the other family: no filter for this one", typ: corev1.ServiceTypeLoadBalancer,
			ranges: []string{"2001:db8::/32"}, want: "[]"},
		{name: "0.0.0.0/0 means any source", typ: corev1.ServiceTypeLoadBalancer,
			ranges: []string{"192.0.2.0/24", "0.0.0.0/0"}, want: "[]"},
		{name: "not a load balancer", typ: corev1.ServiceTypeNodePort, ranges: []string{"192.0.2.0/24"}, want: "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svc("lb", func(s *corev1.Service) {
				s.Spec.Type = tt.typ
				s.Spec.LoadBalancerSourceRanges = tt.ranges
			})
			snap := Build(IPv4, []*corev1.Service{s}, nil)
			if got := fmt.Sprint(snap.Ports[0].SourceRanges); got != tt.want {
				t.Errorf("source ranges = %s; want %s", got, tt.want)
			}
		})
	}
}
