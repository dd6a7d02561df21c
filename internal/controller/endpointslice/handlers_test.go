package endpointslice

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// queued drains the controller's queue and returns its keys, sorted.
func queued(c *Controller) []string {
	var out []string
	for c.queue.Len() > 0 {
		k, _ := c.queue.Get()
		c.queue.Done(k)
		c.queue.Forget(k)
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestHandlers(t *testing.T) {
	services := list(
		service("web"),
		service("api", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "api"} }),
		service("all", func(s *corev1.Service) { s.Spec.Selector = map[string]string{} }),
		service("manual", func(s *corev1.Service) { s.Spec.Selector = nil }),
		service("ext", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }),
	)
	web := pod("web-1", "web", "10.0.0.1")
	newer := func(p *corev1.Pod, mods ...func(*corev1.Pod)) *corev1.Pod {
		p = p.DeepCopy()
		p.ResourceVersion = "2"
		for _, m := range mods {
			m(p)
		}
		return p
	}
	ours := slice("web-x", "web", ControllerName, "uid-web")
	ours.ResourceVersion = "10"
	cases := []struct {
		name  string
		setup func(h *harness)
		event func(c *Controller)
		want  []string
	}{
		{
			name:  "pod added",
			event: func(c *Controller) { c.onPodAdd(web, false) },
			want:  []string{"ns/all", "ns/web"},
		},
		{
			name:  "pods of the initial list are left to their services",
			event: func(c *Controller) { c.onPodAdd(web, true) },
		},
		{
			name:  "pod relabelled: old and new services",
			event: func(c *Controller) { c.onPodUpdate(web, newer(web, func(p *corev1.Pod) { p.Labels["app"] = "api" })) },
			want:  []string{"ns/all", "ns/api", "ns/web"},
		},
		{
			name:  "pod readiness changed",
			event: func(c *Controller) { c.onPodUpdate(web, newer(web, notReady)) },
			want:  []string{"ns/all", "ns/web"},
		},
		{
			name: "irrelevant pod change",
			event: func(c *Controller) {
				c.onPodUpdate(web, newer(web, func(p *corev1.Pod) { p.Annotations = map[string]string{"a": "b"} }))
			},
		},
		{
			name:  "resync without change",
			event: func(c *Controller) { c.onPodUpdate(web, web) },
		},
		{
			name:  "pod deleted, as a tombstone",
			event: func(c *Controller) { c.onPodDelete(cache.DeletedFinalStateUnknown{Key: "ns/web-1", Obj: web}) },
			want:  []string{"ns/all", "ns/web"},
		},
		{
			name:  "service changed",
			event: func(c *Controller) { c.onServiceAdd(service("web"), false) },
			want:  []string{"ns/web"},
		},
		{
			name:  "node zone changed",
			setup: func(h *harness) { h.add(web); h.add(pod("api-1", "api", "10.0.0.2", onNode("node-b"))) },
			event: func(c *Controller) { c.onNodeUpdate(node("node-a", "zone-a"), node("node-a", "zone-z")) },
			want:  []string{"ns/all", "ns/web"},
		},
		{
			name:  "node heartbeat",
			setup: func(h *harness) { h.add(web) },
			event: func(c *Controller) { c.onNodeUpdate(node("node-a", "zone-a"), node("node-a", "zone-a")) },
		},
		{
			name:  "node added",
			setup: func(h *harness) { h.add(web) },
			event: func(c *Controller) { c.onNodeAdd(node("node-a", "zone-a"), false) },
			want:  []string{"ns/all", "ns/web"},
		},
		{
			name:  "our own slice write",
			setup: func(h *harness) { h.c.expect.wrote("ns/web", ours) },
			event: func(c *Controller) { c.onSliceAdd(ours) },
		},
		{
			name:  "our own write while a sync waits for the cache",
			setup: func(h *harness) { h.c.expect.wrote("ns/web", ours); h.c.expect.wait("ns/web") },
			event: func(c *Controller) { c.onSliceAdd(ours) },
			want:  []string{"ns/web"},
		},
		{
			name:  "our own deletion while a sync waits for the cache",
			setup: func(h *harness) { h.c.expect.deleted("ns/web", "web-x"); h.c.expect.wait("ns/web") },
			event: func(c *Controller) { c.onSliceDelete(ours) },
			want:  []string{"ns/web"},
		},
		{
			name:  "someone else changed our slice",
			setup: func(h *harness) { h.c.expect.wrote("ns/web", ours) },
			event: func(c *Controller) {
				changed := ours.DeepCopy()
				changed.ResourceVersion = "11"
				c.onSliceUpdate(ours, changed)
			},
			want: []string{"ns/web"},
		},
		{
			name:  "slice of unknown origin appears",
			event: func(c *Controller) { c.onSliceAdd(ours) },
			want:  []string{"ns/web"},
		},
		{
			name:  "foreign slice",
			event: func(c *Controller) { c.onSliceAdd(slice("web-m", "web", "other-controller", "uid-web")) },
		},
		{
			name: "our slice taken over by another manager",
			event: func(c *Controller) {
				c.onSliceUpdate(ours, slice("web-x", "web", "other-controller", "uid-web"))
			},
			want: []string{"ns/web"},
		},
		{
			name:  "our own deletion",
			setup: func(h *harness) { h.c.expect.deleted("ns/web", "web-x") },
			event: func(c *Controller) { c.onSliceDelete(ours) },
		},
		{
			name:  "deleted behind our back",
			setup: func(h *harness) { h.c.expect.wrote("ns/web", ours) },
			event: func(c *Controller) { c.onSliceDelete(cache.DeletedFinalStateUnknown{Key: "ns/web-x", Obj: ours}) },
			want:  []string{"ns/web"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{}, objects(nodes(), services)...)
			if tc.setup != nil {
				tc.setup(h)
			}
			tc.event(h.c)
			if diff := cmp.Diff(tc.want, queued(h.c)); diff != "" {
				t.Errorf("queued services (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlersRecordTriggerTimes(t *testing.T) {
	clk := testingclock.NewFakePassiveClock(time.Unix(100, 0))
	h := newHarness(t, Options{Clock: clk}, objects(nodes(), list(service("web")))...)
	h.c.onPodAdd(pod("web-1", "web", "10.0.0.1"), false)
	clk.SetTime(time.Unix(200, 0))
	h.c.onPodAdd(pod("web-2", "web", "10.0.0.2"), false)
	if got, want := h.c.triggers.take("ns/web"), time.Unix(100, 0); !got.Equal(want) {
		t.Errorf("trigger time = %v, want the first change's %v", got, want)
	}
	if got := h.c.triggers.take("ns/web"); !got.IsZero() {
		t.Errorf("trigger time after take = %v, want zero", got)
	}
	h.c.onServiceAdd(service("web"), true)
	if got := h.c.triggers.take("ns/web"); !got.IsZero() {
		t.Errorf("initial list set trigger time %v, want none", got)
	}
}

func TestPodEndpointChanged(t *testing.T) {
	base := pod("p", "web", "10.0.0.1")
	cases := []struct {
		name   string
		change func(p *corev1.Pod)
		want   bool
	}{
		{name: "nothing", change: func(*corev1.Pod) {}, want: false},
		{name: "annotations", change: func(p *corev1.Pod) { p.Annotations = map[string]string{"x": "y"} }, want: false},
		{name: "unrelated condition", change: func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
		}, want: false},
		{name: "readiness", change: notReady, want: true},
		{name: "deletion", change: terminating, want: true},
		{name: "IP", change: func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.2"}} }, want: true},
		{name: "phase terminal", change: func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, want: true},
		{name: "node", change: onNode("node-b"), want: true},
		{name: "hostname", change: func(p *corev1.Pod) { p.Spec.Hostname = "h" }, want: true},
		{name: "container port", change: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 1 }, want: true},
		{name: "sidecar", change: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "s", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
		}, want: true},
		{name: "uid", change: func(p *corev1.Pod) { p.UID = "other" }, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base.DeepCopy()
			tc.change(p)
			if got := podEndpointChanged(base, p); got != tc.want {
				t.Errorf("podEndpointChanged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSliceServiceKey(t *testing.T) {
	cases := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{name: "ours", labels: map[string]string{discoveryv1.LabelManagedBy: ControllerName, discoveryv1.LabelServiceName: "web"}, want: []string{"ns/web"}},
		{name: "foreign", labels: map[string]string{discoveryv1.LabelManagedBy: "x", discoveryv1.LabelServiceName: "web"}},
		{name: "no service", labels: map[string]string{discoveryv1.LabelManagedBy: ControllerName}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s", Labels: tc.labels}}
			got, err := sliceServiceKey(s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("index keys (-want +got):\n%s", diff)
			}
		})
	}
}
