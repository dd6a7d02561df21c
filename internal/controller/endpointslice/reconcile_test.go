package endpointslice

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// step is one sync of a reconciler case: change the caches, sync Service "web",
// and compare the writes and the slices the server then holds.
type step struct {
	name   string
	change func(h *harness)
	// want is the summary of the server's slices of "web" (see harness.summary).
	want    []string
	writes  writes
	wantErr bool
	// check, when set, inspects the server's slices further.
	check func(t *testing.T, h *harness)
}

func TestReconcile(t *testing.T) {
	const (
		one  = "IPv4 [http:8080/TCP] web-1=10.0.0.1:RS"
		two  = "IPv4 [http:8080/TCP] web-1=10.0.0.1:RS web-2=10.0.0.2:RS"
		none = "IPv4 [] "
	)
	cases := []struct {
		name  string
		opts  Options
		objs  []runtime.Object
		steps []step
	}{
		{
			name: "ready pods make one slice",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"), pod("web-2", "web", "10.0.0.2"),
				pod("other", "other", "10.0.0.3"))),
			steps: []step{{name: "sync", want: []string{two}, writes: writes{creates: 1}}},
		},
		{
			name: "unready and terminating pods",
			objs: objects(nodes(), list(service("web"),
				pod("web-1", "web", "10.0.0.1", notReady),
				pod("web-2", "web", "10.0.0.2", terminating),
				pod("web-3", "web", "10.0.0.3", notReady, terminating))),
			steps: []step{{
				name:   "sync",
				want:   []string{"IPv4 [http:8080/TCP] web-1=10.0.0.1: web-2=10.0.0.2:ST web-3=10.0.0.3:T"},
				writes: writes{creates: 1},
			}},
		},
		{
			name: "terminal pods and pods without IPs are left out",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"),
				pod("web-2", "web", "10.0.0.2", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
				pod("web-3", "web", "10.0.0.3", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
				pod("web-4", "web", "", func(p *corev1.Pod) { p.Status.PodIPs = nil }),
				pod("web-5", "web", "127.0.0.1"))),
			steps: []step{{name: "sync", want: []string{one}, writes: writes{creates: 1}}},
		},
		{
			name: "pod changes cost one update each",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"), pod("web-2", "web", "10.0.0.2"))),
			steps: []step{
				{name: "sync", want: []string{two}, writes: writes{creates: 1}},
				{
					name:   "readiness flip",
					change: func(h *harness) { p := h.pod("web-2"); notReady(p); h.add(p) },
					want:   []string{"IPv4 [http:8080/TCP] web-1=10.0.0.1:RS web-2=10.0.0.2:"},
					writes: writes{updates: 1},
				},
				{
					name:   "IP change",
					change: func(h *harness) { p := h.pod("web-2"); p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.9"}}; h.add(p) },
					want:   []string{"IPv4 [http:8080/TCP] web-1=10.0.0.1:RS web-2=10.0.0.9:"},
					writes: writes{updates: 1},
				},
				{
					name:   "terminating",
					change: func(h *harness) { p := h.pod("web-1"); terminating(p); h.add(p) },
					want:   []string{"IPv4 [http:8080/TCP] web-1=10.0.0.1:ST web-2=10.0.0.9:"},
					writes: writes{updates: 1},
				},
				{
					name:   "deleted",
					change: func(h *harness) { h.remove(h.pod("web-1")) },
					want:   []string{"IPv4 [http:8080/TCP] web-2=10.0.0.9:"},
					writes: writes{updates: 1},
				},
				{
					name:   "relabelled away",
					change: func(h *harness) { p := h.pod("web-2"); p.Labels["app"] = "other"; h.add(p) },
					want:   []string{none},
					writes: writes{updates: 1},
				},
				{
					name:   "relabelled back",
					change: func(h *harness) { p := h.pod("web-2"); p.Labels["app"] = "web"; h.add(p) },
					want:   []string{"IPv4 [http:8080/TCP] web-2=10.0.0.9:"},
					writes: writes{updates: 1},
				},
				{name: "nothing changed", want: []string{"IPv4 [http:8080/TCP] web-2=10.0.0.9:"}},
			},
		},
		{
			name: "placeholder until the first pod and after the last",
			objs: objects(nodes(), list(service("web"))),
			steps: []step{
				{name: "no pods", want: []string{none}, writes: writes{creates: 1}},
				{name: "still none", want: []string{none}},
				{
					name:   "first pod reuses the placeholder",
					change: func(h *harness) { h.add(pod("web-1", "web", "10.0.0.1")) },
					want:   []string{one},
					writes: writes{updates: 1},
				},
				{
					name:   "last pod gone",
					change: func(h *harness) { h.remove(h.pod("web-1")) },
					want:   []string{none},
					writes: writes{updates: 1},
				},
			},
		},
		{
			name: "selector change",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"),
				pod("api-1", "api", "10.0.0.5"))),
			steps: []step{
				{name: "sync", want: []string{one}, writes: writes{creates: 1}},
				{
					name:   "select api",
					change: func(h *harness) { s := h.service("web"); s.Spec.Selector = map[string]string{"app": "api"}; h.add(s) },
					want:   []string{"IPv4 [http:8080/TCP] api-1=10.0.0.5:RS"},
					writes: writes{updates: 1},
				},
			},
		},
		{
			name: "port change rewrites the slice in place",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"), pod("web-2", "web", "10.0.0.2"))),
			steps: []step{
				{name: "sync", want: []string{two}, writes: writes{creates: 1}},
				{
					name: "targetPort 9090, appProtocol",
					change: func(h *harness) {
						s := h.service("web")
						s.Spec.Ports[0].TargetPort = intstr.FromInt32(9090)
						s.Spec.Ports[0].AppProtocol = ptr.To("http")
						h.add(s)
					},
					want:   []string{"IPv4 [http:9090/TCP] web-1=10.0.0.1:RS web-2=10.0.0.2:RS"},
					writes: writes{updates: 1},
					check: func(t *testing.T, h *harness) {
						s := h.server.list()[0]
						if got := deref(s.Ports[0].AppProtocol); got != "http" {
							t.Errorf("appProtocol = %q, want http", got)
						}
					},
				},
			},
		},
		{
			name: "named port resolving to different numbers makes two slices",
			objs: objects(nodes(), list(
				service("web", func(s *corev1.Service) {
					s.Spec.Ports = []corev1.ServicePort{
						{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")},
						{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")},
					}
				}),
				pod("web-1", "web", "10.0.0.1"),
				pod("web-2", "web", "10.0.0.2", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 8081 }),
				// A TCP port named dns does not match the UDP Service port.
				pod("web-3", "web", "10.0.0.3", func(p *corev1.Pod) {
					p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports,
						corev1.ContainerPort{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolTCP})
				}),
				// A sidecar's named port counts; a plain init container's does not.
				pod("web-4", "web", "10.0.0.4", func(p *corev1.Pod) {
					p.Spec.InitContainers = []corev1.Container{
						{Name: "init", Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 1053, Protocol: corev1.ProtocolUDP}}},
						{Name: "sidecar", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
							Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 2053, Protocol: corev1.ProtocolUDP}}},
					}
				}),
			)),
			steps: []step{{
				name: "sync",
				want: []string{
					"IPv4 [dns:2053/UDP http:8080/TCP] web-4=10.0.0.4:RS",
					"IPv4 [http:8080/TCP] web-1=10.0.0.1:RS web-3=10.0.0.3:RS",
					"IPv4 [http:8081/TCP] web-2=10.0.0.2:RS",
				},
				writes: writes{creates: 3},
			}},
		},
		{
			name: "250 pods fill three slices of at most 100",
			objs: objects(nodes(), list(service("web")), manyPods("web", 250)),
			steps: []step{
				{
					name:   "sync",
					writes: writes{creates: 3},
					check:  checkSizes(100, 100, 50),
				},
				{
					name:   "one more pod goes into the slice with room",
					change: func(h *harness) { h.add(pod("web-extra", "web", "10.0.9.9")) },
					writes: writes{updates: 1},
					check:  checkSizes(100, 100, 51),
				},
				{
					name: "a pod leaves a full slice and another arrives: no rebalancing",
					change: func(h *harness) {
						h.remove(h.pod("web-0000"))
						h.add(pod("web-new", "web", "10.0.9.10"))
					},
					writes: writes{updates: 1},
					check:  checkSizes(100, 100, 51),
				},
				{name: "restart", change: func(h *harness) { h.restart() }, check: checkSizes(100, 100, 51)},
			},
		},
		{
			name:  "max endpoints per slice option",
			opts:  Options{MaxEndpointsPerSlice: 2},
			objs:  objects(nodes(), list(service("web")), manyPods("web", 5)),
			steps: []step{{name: "sync", writes: writes{creates: 3}, check: checkSizes(2, 2, 1)}},
		},
		{
			name: "publishNotReadyAddresses",
			objs: objects(nodes(), list(
				service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
				pod("web-1", "web", "10.0.0.1", notReady),
				pod("web-2", "web", "10.0.0.2", notReady, terminating),
				pod("web-3", "web", "10.0.0.3", onNode("gone")))),
			steps: []step{{
				name:   "sync",
				want:   []string{"IPv4 [http:8080/TCP] web-1=10.0.0.1:R web-2=10.0.0.2:RT web-3=10.0.0.3:RS"},
				writes: writes{creates: 1},
			}},
		},
		{
			name: "pod on a missing node is skipped and the sync retried",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"),
				pod("web-2", "web", "10.0.0.2", onNode("node-c")))),
			steps: []step{
				{name: "sync", want: []string{one}, writes: writes{creates: 1}, wantErr: true},
				{
					name:   "node appears",
					change: func(h *harness) { h.add(node("node-c", "zone-c")) },
					want:   []string{"IPv4 [http:8080/TCP] web-1=10.0.0.1:RS web-2=10.0.0.2:RS"},
					writes: writes{updates: 1},
				},
			},
		},
		{
			name: "node, zone, hostname and labels",
			objs: objects(nodes(), list(
				service("web", func(s *corev1.Service) {
					s.Spec.ClusterIP = corev1.ClusterIPNone
					s.Labels = map[string]string{"team": "a", discoveryv1.LabelManagedBy: "someone", discoveryv1.LabelServiceName: "x"}
				}),
				pod("web-1", "web", "10.0.0.1", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "h1", "web" }),
				pod("web-2", "web", "10.0.0.2", onNode("node-b"), func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "h2", "other" }))),
			steps: []step{{
				name:   "sync",
				want:   []string{two},
				writes: writes{creates: 1},
				check: func(t *testing.T, h *harness) {
					s := h.server.list()[0]
					wantLabels := map[string]string{
						"team": "a", corev1.IsHeadlessService: "",
						discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: ControllerName,
					}
					if diff := cmp.Diff(wantLabels, s.Labels); diff != "" {
						t.Errorf("labels (-want +got):\n%s", diff)
					}
					if s.GenerateName != "web-" {
						t.Errorf("generateName = %q, want web-", s.GenerateName)
					}
					wantOwner := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "web", UID: "uid-web",
						Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
					if diff := cmp.Diff(wantOwner, s.OwnerReferences); diff != "" {
						t.Errorf("ownerReferences (-want +got):\n%s", diff)
					}
					got := map[string]string{}
					for _, ep := range s.Endpoints {
						got[ep.TargetRef.Name] = fmt.Sprintf("host=%s node=%s zone=%s ref=%s/%s/%s", deref(ep.Hostname),
							deref(ep.NodeName), deref(ep.Zone), ep.TargetRef.Kind, ep.TargetRef.Namespace, ep.TargetRef.UID)
					}
					want := map[string]string{
						"web-1": "host=h1 node=node-a zone=zone-a ref=Pod/ns/uid-web-1",
						"web-2": "host= node=node-b zone=zone-b ref=Pod/ns/uid-web-2",
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("endpoints (-want +got):\n%s", diff)
					}
				},
			}},
		},
		{
			name: "zone change on the node",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"))),
			steps: []step{
				{name: "sync", want: []string{one}, writes: writes{creates: 1}},
				{
					name:   "relabel node",
					change: func(h *harness) { h.add(node("node-a", "zone-z")) },
					want:   []string{one},
					writes: writes{updates: 1},
					check:  checkZones("zone-z"),
				},
			},
		},
		{
			name: "IPv6 and dual stack",
			objs: objects(nodes(), list(
				service("web", func(s *corev1.Service) {
					s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
				}),
				pod("web-1", "web", "10.0.0.1", func(p *corev1.Pod) {
					p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00:0::1"})
				}),
				pod("web-2", "web", "fd00::2"))),
			steps: []step{
				{
					name: "sync",
					want: []string{
						"IPv4 [http:8080/TCP] web-1=10.0.0.1:RS",
						"IPv6 [http:8080/TCP] web-1=fd00::1:RS web-2=fd00::2:RS",
					},
					writes: writes{creates: 2},
				},
				{
					name: "single stack IPv6",
					change: func(h *harness) {
						s := h.service("web")
						s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
						h.add(s)
					},
					want:   []string{"IPv6 [http:8080/TCP] web-1=fd00::1:RS web-2=fd00::2:RS"},
					writes: writes{deletes: 1},
				},
			},
		},
		{
			name: "foreign slices are never touched",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"),
				slice("web-mirror", "web", "endpointslicemirroring-controller.k8s.io", "uid-web"),
				slice("web-manual", "web", "", "uid-web"))),
			steps: []step{{
				name: "sync",
				want: []string{
					"IPv4 [] ", "IPv4 [] ", one,
				},
				writes: writes{creates: 1},
			}},
		},
		{
			name: "slices of an earlier service of the same name are deleted",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"),
				slice("web-old", "web", ControllerName, "uid-old"))),
			steps: []step{{name: "sync", want: []string{one}, writes: writes{creates: 1, deletes: 1}}},
		},
		{
			name: "duplicate placeholders collapse to one",
			objs: objects(nodes(), list(service("web"),
				slice("web-a", "web", ControllerName, "uid-web"), slice("web-b", "web", ControllerName, "uid-web"))),
			steps: []step{{name: "sync", want: []string{none}, writes: writes{deletes: 1}}},
		},
		{
			name: "no selector or ExternalName: slices deleted",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"))),
			steps: []step{
				{name: "sync", want: []string{one}, writes: writes{creates: 1}},
				{
					name:   "selector removed",
					change: func(h *harness) { s := h.service("web"); s.Spec.Selector = nil; h.add(s) },
					writes: writes{deletes: 1},
				},
				{
					name:   "selector back",
					change: func(h *harness) { s := h.service("web"); s.Spec.Selector = map[string]string{"app": "web"}; h.add(s) },
					want:   []string{one},
					writes: writes{creates: 1},
				},
				{
					name: "ExternalName",
					change: func(h *harness) {
						s := h.service("web")
						s.Spec.Type = corev1.ServiceTypeExternalName
						h.add(s)
					},
					writes: writes{deletes: 1},
				},
			},
		},
		{
			name: "service labels follow",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"))),
			steps: []step{
				{name: "sync", want: []string{one}, writes: writes{creates: 1}},
				{
					name:   "label added",
					change: func(h *harness) { s := h.service("web"); s.Labels = map[string]string{"tier": "front"}; h.add(s) },
					want:   []string{one},
					writes: writes{updates: 1},
					check: func(t *testing.T, h *harness) {
						if got := h.server.list()[0].Labels["tier"]; got != "front" {
							t.Errorf("tier label = %q, want front", got)
						}
					},
				},
			},
		},
		{
			name: "trafficDistribution hints",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1"),
				pod("web-2", "web", "10.0.0.2", onNode("node-b"), notReady))),
			steps: []step{
				{name: "sync", writes: writes{creates: 1}, check: checkHints(map[string]string{"web-1": "", "web-2": ""})},
				{
					name:   "PreferSameZone",
					change: setTrafficDistribution(corev1.ServiceTrafficDistributionPreferSameZone),
					writes: writes{updates: 1},
					check:  checkHints(map[string]string{"web-1": "zones=zone-a nodes=", "web-2": ""}),
				},
				{
					name:   "PreferClose is the same",
					change: setTrafficDistribution(corev1.ServiceTrafficDistributionPreferClose),
					check:  checkHints(map[string]string{"web-1": "zones=zone-a nodes=", "web-2": ""}),
				},
				{
					name:   "PreferSameNode",
					change: setTrafficDistribution(corev1.ServiceTrafficDistributionPreferSameNode),
					writes: writes{updates: 1},
					check:  checkHints(map[string]string{"web-1": "zones=zone-a nodes=node-a", "web-2": ""}),
				},
				{
					name:   "unset",
					change: func(h *harness) { s := h.service("web"); s.Spec.TrafficDistribution = nil; h.add(s) },
					writes: writes{updates: 1},
					check:  checkHints(map[string]string{"web-1": "", "web-2": ""}),
				},
			},
		},
		{
			name: "service being deleted gets no new slices",
			objs: objects(nodes(), list(service("web", func(s *corev1.Service) {
				now := metav1.Now()
				s.DeletionTimestamp = &now
			}), pod("web-1", "web", "10.0.0.1"))),
			steps: []step{{name: "sync"}},
		},
		{
			name: "headless service without ports",
			objs: objects(nodes(), list(service("web", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil
			}))),
			steps: []step{
				{name: "placeholder", want: []string{none}, writes: writes{creates: 1}},
				{
					name:   "pod fills the placeholder",
					change: func(h *harness) { h.add(pod("web-1", "web", "10.0.0.1")) },
					want:   []string{"IPv4 [] web-1=10.0.0.1:RS"},
					writes: writes{updates: 1},
				},
			},
		},
		{
			name: "old headless service without ipFamilies gets both families",
			objs: objects(nodes(), list(service("web", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.IPFamilies = corev1.ClusterIPNone, nil
			}), pod("web-1", "web", "10.0.0.1"))),
			steps: []step{{name: "sync", want: []string{one, "IPv6 [] "}, writes: writes{creates: 2}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts, tc.objs...)
			for _, st := range tc.steps {
				if st.change != nil {
					st.change(h)
				}
				err := h.sync("web")
				if (err != nil) != st.wantErr {
					t.Fatalf("%s: sync error = %v, want error %v", st.name, err, st.wantErr)
				}
				if got := h.writes(); got != st.writes {
					t.Errorf("%s: writes = %v, want %v", st.name, got, st.writes)
				}
				if st.want != nil || st.check == nil {
					if diff := cmp.Diff(st.want, h.summary("web")); diff != "" {
						t.Errorf("%s: slices (-want +got):\n%s", st.name, diff)
					}
				}
				if st.check != nil {
					st.check(t, h)
				}
				if t.Failed() {
					t.FailNow()
				}
			}
		})
	}
}

// slice builds an existing placeholder slice for Service svc.
func slice(name, svc, managedBy, ownerUID string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: testNS, Name: name, UID: types.UID("uid-slice-" + name),
			Labels: map[string]string{discoveryv1.LabelServiceName: svc},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc,
				UID: types.UID(ownerUID), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{},
		Endpoints:   []discoveryv1.Endpoint{},
	}
	if managedBy != "" {
		s.Labels[discoveryv1.LabelManagedBy] = managedBy
	}
	return s
}

func setTrafficDistribution(v string) func(h *harness) {
	return func(h *harness) {
		s := h.service("web")
		s.Spec.TrafficDistribution = ptr.To(v)
		h.add(s)
	}
}

// checkSizes checks the endpoint counts of the server's slices of "web",
// largest first.
func checkSizes(want ...int) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		var got []int
		seen := map[string]bool{}
		for _, s := range h.server.list() {
			got = append(got, len(s.Endpoints))
			for _, ep := range s.Endpoints {
				if seen[ep.TargetRef.Name] {
					t.Errorf("pod %s is in two slices", ep.TargetRef.Name)
				}
				seen[ep.TargetRef.Name] = true
			}
		}
		slices.Sort(got)
		slices.Reverse(got)
		if !slices.Equal(got, want) {
			t.Errorf("slice sizes = %v, want %v", got, want)
		}
	}
}

// checkZones checks every endpoint's zone.
func checkZones(want string) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		for _, s := range h.server.list() {
			for _, ep := range s.Endpoints {
				if got := deref(ep.Zone); got != want {
					t.Errorf("zone of %s = %q, want %q", ep.TargetRef.Name, got, want)
				}
			}
		}
	}
}

// checkHints checks the hints of each endpoint, "" meaning none.
func checkHints(want map[string]string) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		got := map[string]string{}
		for _, s := range h.server.list() {
			for _, ep := range s.Endpoints {
				got[ep.TargetRef.Name] = ""
				if ep.Hints != nil {
					got[ep.TargetRef.Name] = fmt.Sprintf("zones=%s nodes=%s",
						joinNames(ep.Hints.ForZones, func(z discoveryv1.ForZone) string { return z.Name }),
						joinNames(ep.Hints.ForNodes, func(n discoveryv1.ForNode) string { return n.Name }))
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hints (-want +got):\n%s", diff)
		}
	}
}

func joinNames[T any](xs []T, name func(T) string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ","
		}
		out += name(x)
	}
	return out
}

func TestReconcileRestartWritesNothing(t *testing.T) {
	objs := objects(nodes(), list(
		service("web", func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
			s.Spec.TrafficDistribution = ptr.To(corev1.ServiceTrafficDistributionPreferSameNode)
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "named", Port: 81, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromString("http"), AppProtocol: ptr.To("h2c")})
			s.Labels = map[string]string{"a": "b"}
		})),
		manyPods("web", 230))
	objs = append(objs, pod("web-v6", "web", "fd00::7", notReady, terminating, func(p *corev1.Pod) {
		p.Spec.Hostname, p.Spec.Subdomain = "v6", "web"
	}))
	h := newHarness(t, Options{Clock: testingclock.NewFakePassiveClock(time.Unix(1e9, 0))}, objs...)
	h.c.triggers.observe(testNS+"/web", time.Unix(1e9, 0))
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	if got, want := h.writes(), (writes{creates: 4}); got != want {
		t.Fatalf("first sync writes = %v, want %v", got, want)
	}
	for _, s := range h.server.list() {
		if got, want := s.Annotations[corev1.EndpointsLastChangeTriggerTime], "2001-09-09T01:46:40Z"; got != want {
			t.Errorf("slice %s trigger time = %q, want %q", s.Name, got, want)
		}
	}
	before := h.summary("")
	h.restart()
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	if got := h.writes(); got != (writes{}) {
		t.Errorf("sync after restart writes = %v, want none", got)
	}
	if diff := cmp.Diff(before, h.summary("")); diff != "" {
		t.Errorf("slices changed (-before +after):\n%s", diff)
	}
}

func TestReconcileStaleCache(t *testing.T) {
	h := newHarness(t, Options{}, objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1")))...)
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	// From now on writes reach the server only, as when the watch lags.
	cached := h.server.list()[0]
	h.server.cache = nil
	p := h.pod("web-1")
	notReady(p)
	h.add(p)
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	if got, want := h.writes(), (writes{updates: 1}); got != want {
		t.Fatalf("writes = %v, want %v", got, want)
	}
	// The cache still holds the slice as it was before our update.
	for i := range 3 {
		err := h.sync("web")
		if err != errStaleCache {
			t.Fatalf("sync %d on a stale cache: error = %v, want %v", i, err, errStaleCache)
		}
		if got := h.writes(); got != (writes{}) {
			t.Fatalf("sync %d on a stale cache writes = %v, want none", i, got)
		}
	}
	// The watch catches up: the event of our own update wakes the waiting sync.
	fresh := h.server.list()[0]
	h.add(fresh)
	h.c.onSliceUpdate(cached, fresh)
	if diff := cmp.Diff([]string{"ns/web"}, queued(h.c)); diff != "" {
		t.Errorf("queued after the cache caught up (-want +got):\n%s", diff)
	}
	// Later events of the same write wake nothing.
	h.c.onSliceUpdate(cached, fresh)
	if got := queued(h.c); len(got) != 0 {
		t.Errorf("queued by a repeated own write: %v, want none", got)
	}
	if err := h.sync("web"); err != nil {
		t.Fatalf("sync after the cache caught up: %v", err)
	}
	if got := h.writes(); got != (writes{}) {
		t.Errorf("sync after the cache caught up writes = %v, want none", got)
	}
}

func TestReconcileStaleCacheAfterDelete(t *testing.T) {
	h := newHarness(t, Options{}, objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1")))...)
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	s := h.service("web")
	s.Spec.Selector = nil
	h.add(s)
	old := h.server.list()[0]
	h.server.cache = nil
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	if err := h.sync("web"); err != errStaleCache {
		t.Fatalf("sync with the deleted slice still cached: error = %v, want %v", err, errStaleCache)
	}
	h.remove(old)
	if h.c.expect.observeDeleted(testNS+"/web", old.Name) != true {
		t.Errorf("own deletion not recognised")
	}
	if err := h.sync("web"); err != nil {
		t.Fatal(err)
	}
	if got := h.writes(); got != (writes{}) {
		t.Errorf("writes = %v, want none", got)
	}
}
