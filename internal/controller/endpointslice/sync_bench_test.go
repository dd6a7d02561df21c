package endpointslice

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BenchmarkSync measures one sync of a Service with 1,000 Pods (10 slices).
//
//	steady:   nothing changed (the common case: a sync woken by an unrelated event)
//	flip:     one Pod's readiness flips each iteration (one slice update through
//	          the fake client, whose bookkeeping is included)
//	named:    steady, with a named targetPort resolved per Pod
func BenchmarkSync(b *testing.B) {
	cases := []struct {
		name  string
		svc   *corev1.Service
		flip  bool
		nodes int
	}{
		{name: "steady", svc: service("web")},
		{name: "flip", svc: service("web"), flip: true},
		{name: "named", svc: service("web", func(s *corev1.Service) {
			s.Spec.Ports[0].TargetPort = intstr.FromString("http")
		})},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b, Options{}, objects(nodes(), list(tc.svc), manyPods("web", 1000))...)
			if err := h.sync("web"); err != nil {
				b.Fatal(err)
			}
			if w := h.writes(); w.creates != 10 {
				b.Fatalf("first sync writes = %v, want 10 creates", w)
			}
			ready, unready := h.pod("web-0500"), h.pod("web-0500")
			notReady(unready)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if tc.flip {
					if i%2 == 0 {
						h.add(unready)
					} else {
						h.add(ready)
					}
					i++
				}
				if err := h.sync("web"); err != nil {
					b.Fatal(err)
				}
			}
			want := writes{}
			if tc.flip {
				want.updates = 1
			}
			if got := h.writes(); got != want {
				b.Fatalf("last sync writes = %v, want %v", got, want)
			}
		})
	}
}
