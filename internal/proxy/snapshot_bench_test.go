package proxy

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// BenchmarkBuild measures the agent's per-sync snapshot from n Services with one
// slice of 10 endpoints each: from scratch, and with a Builder that has seen
// them all before (a sync after a change to another object).
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		var services []*corev1.Service
		var slices []*discoveryv1.EndpointSlice
		for i := range n {
			name := fmt.Sprintf("svc-%05d", i)
			services = append(services, svc(name, func(s *corev1.Service) {
				ip := fmt.Sprintf("10.%d.%d.%d", 96+i>>16, (i>>8)&255, i&255)
				s.Spec.ClusterIP, s.Spec.ClusterIPs = ip, []string{ip}
			}))
			var eps []sliceEP
			for j := range 10 {
				eps = append(eps, ready(fmt.Sprintf("10.%d.%d.%d", 128+j, (i>>8)&255, i&255), "node-a"))
			}
			slices = append(slices, slice(name, name+"-x", "http", 8080, eps...))
		}
		for i := range services {
			services[i].ResourceVersion = fmt.Sprint(i)
			slices[i].ResourceVersion = fmt.Sprint(i)
		}
		b.Run(fmt.Sprintf("scratch/services=%d", n), func(b *testing.B) {
			for b.Loop() {
				Build(IPv4, services, slices)
			}
		})
		b.Run(fmt.Sprintf("reuse/services=%d", n), func(b *testing.B) {
			bd := NewBuilder(IPv4)
			bd.Build(services, slices)
			for b.Loop() {
				bd.Build(services, slices)
			}
		})
	}
}
