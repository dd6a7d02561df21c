package mirroring

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	eppkg "github.com/svcnet/svcnet/internal/controller/endpoints"
)

// sliceView is the part of a slice the table compares.
type sliceView struct {
	Family    discoveryv1.AddressType
	Ports     string
	Endpoints []discoveryv1.Endpoint
}

func view(ss []discoveryv1.EndpointSlice) []sliceView {
	var out []sliceView
	for _, s := range ss {
		out = append(out, sliceView{Family: s.AddressType, Ports: portsKey(s.Ports), Endpoints: s.Endpoints})
	}
	slices.SortFunc(out, func(a, b sliceView) int {
		return cmpString(string(a.Family)+a.Ports, string(b.Family)+b.Ports)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestSync(t *testing.T) {
	svc := service("web")
	web := func(mutate ...func(*corev1.Endpoints)) *corev1.Endpoints { return newEndpoints("web", mutate...) }
	node := "node-a"
	tests := []struct {
		name   string
		objs   []runtime.Object
		key    string
		writes []string
		want   []sliceView
		check  func(t *testing.T, ss []discoveryv1.EndpointSlice)
	}{{
		name:   "seed example: selectorless service with hand-written endpoints",
		objs:   seed(t),
		key:    "default/my-service",
		writes: []string{"create endpointslices"},
		want:   []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "/TCP/9376", Endpoints: []discoveryv1.Endpoint{endpoint("1.2.3.4", true)}}},
		check: func(t *testing.T, ss []discoveryv1.EndpointSlice) {
			s := ss[0]
			wantLabels := map[string]string{discoveryv1.LabelServiceName: "my-service", discoveryv1.LabelManagedBy: ControllerName}
			if diff := cmp.Diff(wantLabels, s.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].Name != "my-service" ||
				s.OwnerReferences[0].UID != "seed-service" || s.OwnerReferences[0].Controller == nil || !*s.OwnerReferences[0].Controller {
				t.Errorf("owner references = %+v; want the Service my-service as controller", s.OwnerReferences)
			}
			if s.GenerateName != "my-service-" {
				t.Errorf("generateName = %q; want my-service-", s.GenerateName)
			}
		},
	}, {
		name: "ready, not-ready, hostname, nodeName and targetRef are kept",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses[0].Hostname = "db-0"
			e.Subsets[0].Addresses[0].NodeName = &node
			e.Subsets[0].Addresses[0].TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "db-0", UID: "pod-uid"}
			e.Subsets[0].NotReadyAddresses = []corev1.EndpointAddress{{IP: "192.0.2.2"}}
		})},
		writes: []string{"create endpointslices"},
		want: []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{
			func() discoveryv1.Endpoint {
				e := endpoint("192.0.2.1", true)
				h := "db-0"
				e.Hostname, e.NodeName = &h, &node
				e.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "db-0", UID: "pod-uid"}
				return e
			}(),
			endpoint("192.0.2.2", false),
		}}},
	}, {
		name: "one slice per port set and address family",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses = append(e.Subsets[0].Addresses, corev1.EndpointAddress{IP: "2001:DB8::1"})
			e.Subsets = append(e.Subsets, corev1.EndpointSubset{
				Addresses: []corev1.EndpointAddress{{IP: "192.0.2.9"}},
				Ports:     []corev1.EndpointPort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}},
			})
		})},
		writes: []string{"create endpointslices", "create endpointslices", "create endpointslices"},
		want: []sliceView{
			{Family: discoveryv1.AddressTypeIPv4, Ports: "dns/UDP/53", Endpoints: []discoveryv1.Endpoint{endpoint("192.0.2.9", true)}},
			{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{endpoint("192.0.2.1", true)}},
			{Family: discoveryv1.AddressTypeIPv6, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{endpoint("2001:db8::1", true)}},
		},
	}, {
		name: "invalid and special addresses are skipped",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			for _, ip := range []string{"not-an-ip", "127.0.0.1", "0.0.0.0", "169.254.1.1", "224.0.0.5", "::1", "fe80::1", "::ffff:192.0.2.7"} {
				e.Subsets[0].Addresses = append(e.Subsets[0].Addresses, corev1.EndpointAddress{IP: ip})
			}
		})},
		writes: []string{"create endpointslices"},
		want: []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{
			endpoint("192.0.2.1", true), endpoint("192.0.2.7", true),
		}}},
	}, {
		name: "at most 1000 addresses per subset, ready ones first",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses = nil
			for i := range 1100 {
				e.Subsets[0].Addresses = append(e.Subsets[0].Addresses, corev1.EndpointAddress{IP: fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)})
			}
			e.Subsets[0].NotReadyAddresses = []corev1.EndpointAddress{{IP: "192.0.2.200"}}
		})},
		writes: []string{"create endpointslices"},
		check: func(t *testing.T, ss []discoveryv1.EndpointSlice) {
			if len(ss[0].Endpoints) != MaxEndpointsPerSubset {
				t.Errorf("endpoints = %d; want %d", len(ss[0].Endpoints), MaxEndpointsPerSubset)
			}
			for _, e := range ss[0].Endpoints {
				if !*e.Conditions.Ready {
					t.Fatalf("endpoint %v not ready; want only ready ones mirrored", e.Addresses)
				}
			}
		},
	}, {
		name: "labels and annotations copied, minus last-applied and trigger time",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			e.Labels = map[string]string{"tier": "db"}
			e.Annotations = map[string]string{
				"note":                                "external",
				corev1.LastAppliedConfigAnnotation:    "{}",
				corev1.EndpointsLastChangeTriggerTime: "2026-01-01T00:00:00Z",
			}
		})},
		writes: []string{"create endpointslices"},
		want:   []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{endpoint("192.0.2.1", true)}}},
		check: func(t *testing.T, ss []discoveryv1.EndpointSlice) {
			if diff := cmp.Diff(map[string]string{"note": "external"}, ss[0].Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if ss[0].Labels["tier"] != "db" {
				t.Errorf("labels = %v; want tier=db copied", ss[0].Labels)
			}
		},
	}, {
		name: "unchanged slices are not written",
		objs: []runtime.Object{svc, web(), mirrored("web-1", svc, discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		want: []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{endpoint("192.0.2.1", true)}}},
	}, {
		name: "address change updates the slice in place",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			e.Subsets[0].Addresses = append(e.Subsets[0].Addresses, corev1.EndpointAddress{IP: "192.0.2.3"})
		}), mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"update endpointslices"},
		want: []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{
			endpoint("192.0.2.1", true), endpoint("192.0.2.3", true),
		}}},
	}, {
		name: "a new port set reuses the slice of the old one",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 9090 }),
			mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"update endpointslices"},
		want:   []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/9090", Endpoints: []discoveryv1.Endpoint{endpoint("192.0.2.1", true)}}},
	}, {
		name: "a recreated service becomes the owner",
		objs: []runtime.Object{service("web", func(s *corev1.Service) { s.UID = "svc-web-2" }), web(),
			mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"update endpointslices"},
		check: func(t *testing.T, ss []discoveryv1.EndpointSlice) {
			if ss[0].OwnerReferences[0].UID != "svc-web-2" {
				t.Errorf("owner = %+v; want the new Service UID", ss[0].OwnerReferences)
			}
		},
	}, {
		name: "duplicate slices for one port set are removed",
		objs: []runtime.Object{svc, web(),
			mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true)),
			mirrored("web-2", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"delete endpointslices"},
		want:   []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{endpoint("192.0.2.1", true)}}},
	}, {
		name: "endpoints with no usable address mirror to nothing",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "127.0.0.1" }),
			mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"delete endpointslices"},
	}, {
		name: "skip-mirror label: nothing mirrored, mirrored slices deleted",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) { e.Labels = map[string]string{discoveryv1.LabelSkipMirror: "true"} }),
			mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"delete endpointslices"},
	}, {
		name: "leader-election endpoints are not mirrored",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) { e.Annotations = map[string]string{leaderAnnotation: "{}"} })},
	}, {
		name: "endpoints of the endpoints controller are not mirrored",
		objs: []runtime.Object{svc, web(func(e *corev1.Endpoints) {
			e.Labels = map[string]string{eppkg.ManagedByLabel: eppkg.ManagedByValue}
		})},
	}, {
		name:   "no service: nothing mirrored, mirrored slices deleted",
		objs:   []runtime.Object{web(), mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"delete endpointslices"},
	}, {
		name: "selector added: mirrored slices deleted, others kept",
		objs: []runtime.Object{service("web", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "web"} }), web(),
			mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true)),
			func() *discoveryv1.EndpointSlice {
				s := mirrored("web-pods", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("10.0.0.1", true))
				s.Labels[discoveryv1.LabelManagedBy] = "endpointslice-controller.k8s.io"
				return s
			}()},
		writes: []string{"delete endpointslices"},
		want:   []sliceView{{Family: discoveryv1.AddressTypeIPv4, Ports: "http/TCP/8080", Endpoints: []discoveryv1.Endpoint{endpoint("10.0.0.1", true)}}},
	}, {
		name:   "endpoints deleted: mirrored slices deleted",
		objs:   []runtime.Object{svc, mirrored("web-1", svc, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("http", 8080)}, endpoint("192.0.2.1", true))},
		writes: []string{"delete endpointslices"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			key := tc.key
			if key == "" {
				key = "default/web"
			}
			c, client := newController(t, tc.objs...)
			if err := c.sync(ctx, key); err != nil {
				t.Fatalf("sync(%s) = %v", key, err)
			}
			if got := writes(client); !slices.Equal(got, tc.writes) {
				t.Errorf("writes = %v; want %v", got, tc.writes)
			}
			ss := storedSlices(t, client)
			if tc.want != nil || tc.check == nil {
				if diff := cmp.Diff(tc.want, view(ss)); diff != "" {
					t.Errorf("slices (-want +got):\n%s", diff)
				}
			}
			if tc.check != nil {
				if len(ss) == 0 {
					t.Fatal("no slices")
				}
				tc.check(t, ss)
			}

			// A restarted controller finding the state it wrote writes nothing.
			c2, client2 := newController(t, stored(t, client)...)
			if err := c2.sync(ctx, key); err != nil {
				t.Fatalf("sync after restart = %v", err)
			}
			if got := writes(client2); len(got) != 0 {
				t.Errorf("writes after restart = %v; want none", got)
			}
		})
	}
}
