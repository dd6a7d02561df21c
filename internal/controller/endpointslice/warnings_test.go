package endpointslice

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/record"
)

// targetPortName makes the Service's first port target a named port.
func targetPortName(name string) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString(name) }
}

// withPorts replaces the ports of a Pod's only container.
func withPorts(ports ...corev1.ContainerPort) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports = ports }
}

// drain returns the events recorded since the last call.
func drain(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case ev := <-rec.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func TestWarningEvents(t *testing.T) {
	const (
		noPods      = "Warning NoMatchingPods Selector app=web matches no pods in namespace ns; the Service has no endpoints"
		noMetrics   = `Warning NamedPortNotFound No selected pod defines port "metrics" (TCP), the targetPort of Service port "http"; that port has no endpoints`
		noDNSOnUDP  = `Warning NamedPortNotFound No selected pod defines port "dns" (UDP), the targetPort of Service port "dns"; that port has no endpoints`
		noAdmin     = `Warning NamedPortNotFound No selected pod defines port "admin" (TCP), the targetPort of Service port 9000; that port has no endpoints`
		metricsPort = "metrics"
	)
	httpPort := corev1.ContainerPort{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}
	metrics := corev1.ContainerPort{Name: metricsPort, ContainerPort: 9090, Protocol: corev1.ProtocolTCP}
	type warnStep struct {
		name   string
		change func(h *harness)
		// want is the events the sync records, in order.
		want []string
	}
	cases := []struct {
		name  string
		objs  []runtime.Object
		steps []warnStep
	}{
		{
			name: "selector matches nothing, then pods come and go",
			objs: objects(nodes(), list(service("web"), pod("other-1", "other", "10.0.0.9"))),
			steps: []warnStep{
				{name: "no pods", want: []string{noPods}},
				{name: "still no pods", want: nil},
				{name: "pod appears", change: func(h *harness) { h.add(pod("web-1", "web", "10.0.0.1")) }, want: nil},
				{name: "pod stays", want: nil},
				{name: "pod vanishes", change: func(h *harness) { h.remove(h.pod("web-1")) }, want: []string{noPods}},
				{name: "still gone", want: nil},
			},
		},
		{
			name: "pods of another namespace do not count",
			objs: objects(nodes(), list(service("web"),
				pod("web-1", "web", "10.0.0.1", func(p *corev1.Pod) { p.Namespace = "elsewhere" }))),
			steps: []warnStep{{name: "sync", want: []string{noPods}}},
		},
		{
			name: "not-ready and finished pods are still matched",
			objs: objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1", notReady),
				pod("web-2", "web", "10.0.0.2", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name: "named port missing on all pods",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort)),
				pod("web-1", "web", "10.0.0.1"), pod("web-2", "web", "10.0.0.2"))),
			steps: []warnStep{
				{name: "missing", want: []string{noMetrics}},
				{name: "still missing", want: nil},
			},
		},
		{
			name: "named port present on some pods",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort)),
				pod("web-1", "web", "10.0.0.1"), pod("web-2", "web", "10.0.0.2", withPorts(httpPort, metrics)))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name: "named port on a sidecar init container",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort)),
				pod("web-1", "web", "10.0.0.1", func(p *corev1.Pod) {
					always := corev1.ContainerRestartPolicyAlways
					p.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: &always,
						Ports: []corev1.ContainerPort{metrics}}}
				}))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name: "named port is added, then removed again",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort)), pod("web-1", "web", "10.0.0.1"))),
			steps: []warnStep{
				{name: "missing", want: []string{noMetrics}},
				{name: "port added", change: func(h *harness) {
					h.add(pod("web-1", "web", "10.0.0.1", withPorts(httpPort, metrics)))
				}, want: nil},
				{name: "port removed", change: func(h *harness) { h.add(pod("web-1", "web", "10.0.0.1")) }, want: []string{noMetrics}},
			},
		},
		{
			name: "named port with another protocol",
			objs: objects(nodes(), list(service("web", func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}}
			}), pod("web-1", "web", "10.0.0.1", withPorts(corev1.ContainerPort{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolTCP})))),
			steps: []warnStep{{name: "sync", want: []string{noDNSOnUDP}}},
		},
		{
			name: "each missing port is reported once",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort), func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 9000, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("admin")})
			}), pod("web-1", "web", "10.0.0.1"))),
			steps: []warnStep{
				{name: "both missing", want: []string{noMetrics, noAdmin}},
				{name: "one found", change: func(h *harness) {
					h.add(pod("web-1", "web", "10.0.0.1", withPorts(httpPort, metrics)))
				}, want: nil},
				{name: "lost again", change: func(h *harness) { h.add(pod("web-1", "web", "10.0.0.1")) }, want: []string{noMetrics}},
			},
		},
		{
			name: "named ports are not checked without pods",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort)))),
			steps: []warnStep{
				{name: "no pods", want: []string{noPods}},
				{name: "pod without the port", change: func(h *harness) { h.add(pod("web-1", "web", "10.0.0.1")) }, want: []string{noMetrics}},
			},
		},
		{
			name: "named ports are not checked against finished pods",
			objs: objects(nodes(), list(service("web", targetPortName(metricsPort)),
				pod("web-1", "web", "10.0.0.1", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name:  "numeric target port",
			objs:  objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1", withPorts()))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name:  "no selector",
			objs:  objects(nodes(), list(service("web", func(s *corev1.Service) { s.Spec.Selector = nil }))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name: "external name",
			objs: objects(nodes(), list(service("web", func(s *corev1.Service) {
				s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
			}))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
		{
			name: "selector removed and restored",
			objs: objects(nodes(), list(service("web"))),
			steps: []warnStep{
				{name: "no pods", want: []string{noPods}},
				{name: "selector removed", change: func(h *harness) {
					h.add(service("web", func(s *corev1.Service) { s.Spec.Selector = nil }))
				}, want: nil},
				{name: "selector restored", change: func(h *harness) { h.add(service("web")) }, want: []string{noPods}},
			},
		},
		{
			name: "service deleted and created again",
			objs: objects(nodes(), list(service("web"))),
			steps: []warnStep{
				{name: "no pods", want: []string{noPods}},
				{name: "deleted", change: func(h *harness) { h.remove(h.service("web")) }, want: nil},
				{name: "created again", change: func(h *harness) { h.add(service("web")) }, want: []string{noPods}},
			},
		},
		{
			name: "service replaced between syncs",
			objs: objects(nodes(), list(service("web"))),
			steps: []warnStep{
				{name: "no pods", want: []string{noPods}},
				{name: "new uid", change: func(h *harness) {
					h.add(service("web", func(s *corev1.Service) { s.UID = types.UID("uid-web-2") }))
				}, want: []string{noPods}},
			},
		},
		{
			name: "service being deleted",
			objs: objects(nodes(), list(service("web", func(s *corev1.Service) {
				now := metav1.Now()
				s.DeletionTimestamp = &now
			}))),
			steps: []warnStep{{name: "sync", want: nil}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := record.NewFakeRecorder(100)
			h := newHarness(t, Options{Recorder: rec}, tc.objs...)
			for _, st := range tc.steps {
				if st.change != nil {
					st.change(h)
				}
				if err := h.sync("web"); err != nil {
					t.Fatalf("%s: sync error = %v, want nil", st.name, err)
				}
				if diff := cmp.Diff(st.want, drain(rec)); diff != "" {
					t.Errorf("%s: events (-want +got):\n%s", st.name, diff)
				}
			}
		})
	}
}

func TestWarningsWithoutRecorder(t *testing.T) {
	h := newHarness(t, Options{}, objects(nodes(), list(service("web", targetPortName("metrics"))))...)
	for _, step := range []string{"no pods", "again"} {
		if err := h.sync("web"); err != nil {
			t.Fatalf("%s: sync error = %v, want nil", step, err)
		}
	}
	if got := len(h.c.warnings.m); got != 0 {
		t.Errorf("remembered services = %d, want 0 (nothing is tracked without a recorder)", got)
	}
}
