package endpoints

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestSync(t *testing.T) {
	sidecar := corev1.ContainerRestartPolicyAlways
	managed := func(name string, mutate ...func(*corev1.Endpoints)) *corev1.Endpoints {
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "ep-" + "uid", ResourceVersion: "5",
			Labels: map[string]string{ManagedByLabel: ManagedByValue}}}
		for _, m := range mutate {
			m(ep)
		}
		return ep
	}
	tests := []struct {
		name    string
		objs    []runtime.Object
		key     string
		writes  []string
		subsets []corev1.EndpointSubset // checked when wantEP
		wantEP  bool
		check   func(t *testing.T, ep *corev1.Endpoints)
	}{{
		name:   "ready and not-ready pods",
		objs:   []runtime.Object{service("web"), pod("a", "web", "10.0.0.2"), pod("b", "web", "10.0.0.1", notReady), pod("other", "db", "10.0.0.9")},
		writes: []string{"create endpoints"},
		wantEP: true,
		subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{addr("a", "10.0.0.2")},
			NotReadyAddresses: []corev1.EndpointAddress{addr("b", "10.0.0.1")},
			Ports:             []corev1.EndpointPort{tcp("http", 8080)},
		}},
		check: func(t *testing.T, ep *corev1.Endpoints) {
			want := map[string]string{"team": "web", ManagedByLabel: ManagedByValue}
			if diff := cmp.Diff(want, ep.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if got := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2026-01-02T03:04:05Z" {
				t.Errorf("trigger time = %q; want the Service's creation 2026-01-02T03:04:05Z", got)
			}
		},
	}, {
		name: "publishNotReadyAddresses lists every pod as ready, terminating ones too",
		objs: []runtime.Object{service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			pod("a", "web", "10.0.0.1", notReady), pod("b", "web", "10.0.0.2", terminating)},
		writes: []string{"create endpoints"},
		wantEP: true,
		subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1"), addr("b", "10.0.0.2")},
			Ports:     []corev1.EndpointPort{tcp("http", 8080)},
		}},
	}, {
		name: "terminating, terminal and IP-less pods are left out",
		objs: []runtime.Object{service("web"), pod("a", "web", "10.0.0.1"), pod("b", "web", "10.0.0.2", terminating),
			pod("c", "web", "10.0.0.3", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
			pod("d", "web", "", func(p *corev1.Pod) { p.Status.PodIPs = nil })},
		writes:  []string{"create endpoints"},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}},
	}, {
		name: "named target port resolved per pod by name and protocol",
		objs: []runtime.Object{
			service("web", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http") }),
			pod("a", "web", "10.0.0.1"),
			pod("b", "web", "10.0.0.2", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
			pod("c", "web", "10.0.0.3", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "metrics" }),
			pod("d", "web", "10.0.0.4", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolUDP }),
			pod("e", "web", "10.0.0.5", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = nil
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &sidecar,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 7070, Protocol: corev1.ProtocolTCP}}}}
			}),
			pod("f", "web", "10.0.0.6", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = nil // a plain init container does not serve
				p.Spec.InitContainers = []corev1.Container{{Name: "setup", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 6060}}}}
			}),
		},
		writes: []string{"create endpoints"},
		wantEP: true,
		subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{addr("e", "10.0.0.5")}, Ports: []corev1.EndpointPort{tcp("http", 7070)}},
			{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}},
			{Addresses: []corev1.EndpointAddress{addr("b", "10.0.0.2")}, Ports: []corev1.EndpointPort{tcp("http", 9090)}},
		},
	}, {
		name: "pods with the same port set share a subset across several ports",
		objs: []runtime.Object{
			service("web", func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "admin", Port: 81, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("admin")})
			}),
			pod("a", "web", "10.0.0.1", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "admin", ContainerPort: 9000, Protocol: corev1.ProtocolTCP})
			}),
			pod("b", "web", "10.0.0.2", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "admin", ContainerPort: 9000, Protocol: corev1.ProtocolTCP})
			}),
			pod("c", "web", "10.0.0.3"),
		},
		writes: []string{"create endpoints"},
		wantEP: true,
		subsets: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1"), addr("b", "10.0.0.2")}, Ports: []corev1.EndpointPort{tcp("admin", 9000)}},
			{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1"), addr("b", "10.0.0.2"), addr("c", "10.0.0.3")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}},
		},
	}, {
		name: "headless service publishes hostnames of pods in its subdomain",
		objs: []runtime.Object{
			service("web", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
			pod("a", "web", "10.0.0.1", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "web-0", "web" }),
			pod("b", "web", "10.0.0.2", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "web-1", "other" }),
		},
		writes: []string{"create endpoints"},
		wantEP: true,
		subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{
				func() corev1.EndpointAddress { a := addr("a", "10.0.0.1"); a.Hostname = "web-0"; return a }(),
				addr("b", "10.0.0.2"),
			},
			Ports: []corev1.EndpointPort{tcp("http", 8080)},
		}},
		check: func(t *testing.T, ep *corev1.Endpoints) {
			if v, ok := ep.Labels[corev1.IsHeadlessService]; !ok || v != "" {
				t.Errorf("labels = %v; want %s with an empty value", ep.Labels, corev1.IsHeadlessService)
			}
		},
	}, {
		name: "headless service without ports lists bare addresses",
		objs: []runtime.Object{
			service("web", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil }),
			pod("a", "web", "10.0.0.1"), pod("b", "web", "10.0.0.2", notReady),
		},
		writes: []string{"create endpoints"},
		wantEP: true,
		subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{addr("a", "10.0.0.1")},
			NotReadyAddresses: []corev1.EndpointAddress{addr("b", "10.0.0.2")},
		}},
	}, {
		name: "IPv6 service picks each pod's IPv6 address",
		objs: []runtime.Object{
			service("web", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.IPFamilies = "fd00:96::10", []corev1.IPFamily{corev1.IPv6Protocol}
			}),
			pod("a", "web", "10.0.0.1", func(p *corev1.Pod) { p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::1"}) }),
			pod("b", "web", "10.0.0.2"), // single-stack IPv4: no address of the family
		},
		writes:  []string{"create endpoints"},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "fd00::1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}},
	}, {
		name:   "service with no matching pods gets empty endpoints",
		objs:   []runtime.Object{service("web")},
		writes: []string{"create endpoints"},
		wantEP: true,
	}, {
		name: "unchanged endpoints are not written",
		objs: []runtime.Object{service("web"), pod("a", "web", "10.0.0.1"), managed("web", func(ep *corev1.Endpoints) {
			ep.Labels["team"] = "web"
			ep.Subsets = []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}}
		})},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}},
	}, {
		name: "readiness change moves the address",
		objs: []runtime.Object{service("web"), pod("a", "web", "10.0.0.1", notReady), managed("web", func(ep *corev1.Endpoints) {
			ep.Labels["team"] = "web"
			ep.Subsets = []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}}
		})},
		writes:  []string{"update endpoints"},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{NotReadyAddresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}},
	}, {
		name: "hand-written endpoints of a service that has a selector are taken over",
		objs: []runtime.Object{service("web"), pod("a", "web", "10.0.0.1"), &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", ResourceVersion: "3", Annotations: map[string]string{"note": "mine"}},
			Subsets:    []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}, Ports: []corev1.EndpointPort{tcp("", 80)}}},
		}},
		writes:  []string{"update endpoints"},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}},
		check: func(t *testing.T, ep *corev1.Endpoints) {
			if ep.Labels[ManagedByLabel] != ManagedByValue || ep.Annotations["note"] != "mine" {
				t.Errorf("labels %v, annotations %v; want the managed-by label added and other annotations kept", ep.Labels, ep.Annotations)
			}
		},
	}, {
		name:   "1200 ready pods are truncated to 1000 addresses",
		objs:   append([]runtime.Object{service("web")}, manyPods(1200, "web")...),
		writes: []string{"create endpoints"},
		wantEP: true,
		check: func(t *testing.T, ep *corev1.Endpoints) {
			ready, notReady := countAddresses(ep.Subsets)
			if ready != MaxAddresses || notReady != 0 {
				t.Errorf("addresses = %d ready, %d not ready; want %d, 0", ready, notReady, MaxAddresses)
			}
			if got := ep.Annotations[corev1.EndpointsOverCapacity]; got != "truncated" {
				t.Errorf("over-capacity annotation = %q; want truncated", got)
			}
		},
	}, {
		name: "back under capacity removes the over-capacity annotation",
		objs: []runtime.Object{service("web"), pod("a", "web", "10.0.0.1"), managed("web", func(ep *corev1.Endpoints) {
			ep.Labels["team"] = "web"
			ep.Annotations = map[string]string{corev1.EndpointsOverCapacity: "truncated"}
			ep.Subsets = []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}}
		})},
		writes:  []string{"update endpoints"},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []corev1.EndpointPort{tcp("http", 8080)}}},
		check: func(t *testing.T, ep *corev1.Endpoints) {
			if _, ok := ep.Annotations[corev1.EndpointsOverCapacity]; ok {
				t.Errorf("annotations = %v; want no over-capacity annotation", ep.Annotations)
			}
		},
	}, {
		name:   "service deleted: managed endpoints deleted",
		objs:   []runtime.Object{managed("web")},
		key:    "default/web",
		writes: []string{"delete endpoints"},
	}, {
		name:   "service deleted: hand-written endpoints kept",
		objs:   []runtime.Object{&corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}},
		key:    "default/web",
		wantEP: true,
	}, {
		name: "leader-election endpoints kept",
		objs: []runtime.Object{managed("web", func(ep *corev1.Endpoints) {
			ep.Annotations = map[string]string{leaderAnnotation: "{}"}
		})},
		key:    "default/web",
		wantEP: true,
	}, {
		name:   "selector removed: managed endpoints deleted",
		objs:   []runtime.Object{service("web", func(s *corev1.Service) { s.Spec.Selector = nil }), managed("web")},
		writes: []string{"delete endpoints"},
	}, {
		name:   "service turned ExternalName: managed endpoints deleted",
		objs:   []runtime.Object{service("web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }), managed("web")},
		writes: []string{"delete endpoints"},
	}, {
		name: "selectorless service keeps its hand-written endpoints",
		objs: []runtime.Object{service("web", func(s *corev1.Service) { s.Spec.Selector = nil }), &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Subsets:    []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "1.2.3.4"}}, Ports: []corev1.EndpointPort{tcp("", 9376)}}},
		}},
		wantEP:  true,
		subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "1.2.3.4"}}, Ports: []corev1.EndpointPort{tcp("", 9376)}}},
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
			ep := getEndpoints(t, client, "web")
			if (ep != nil) != tc.wantEP {
				t.Fatalf("endpoints exist = %v; want %v", ep != nil, tc.wantEP)
			}
			if ep != nil && tc.subsets != nil {
				if diff := cmp.Diff(tc.subsets, ep.Subsets); diff != "" {
					t.Errorf("subsets (-want +got):\n%s", diff)
				}
			}
			if ep != nil && tc.check != nil {
				tc.check(t, ep)
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

// TestSyncTriggerTime checks that a later write reports the earliest change since
// the previous sync, not the Service's creation.
func TestSyncTriggerTime(t *testing.T) {
	ctx := context.Background()
	c, client, factory := newControllerWithFactory(t, service("web"), pod("a", "web", "10.0.0.1"))
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	cacheObject(t, factory, getEndpoints(t, client, "web"))
	later := metav1.NewTime(created.Add(90 * time.Second))
	cacheObject(t, factory, pod("b", "web", "10.0.0.2", func(p *corev1.Pod) { p.Status.Conditions[0].LastTransitionTime = later }))
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	ep := getEndpoints(t, client, "web")
	if got, want := ep.Annotations[corev1.EndpointsLastChangeTriggerTime], "2026-01-02T03:05:35Z"; got != want {
		t.Errorf("trigger time after pod b became ready = %q; want %q", got, want)
	}
	if got := writes(client); !slices.Equal(got, []string{"create endpoints", "update endpoints"}) {
		t.Errorf("writes = %v; want one create and one update", got)
	}
}
