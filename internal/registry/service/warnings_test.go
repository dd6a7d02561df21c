package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestWarnings(t *testing.T) {
	preferClose := corev1.ServiceTrafficDistributionPreferClose
	tests := []struct {
		name string
		edit func(s *corev1.Service)
		want []string
	}{
		{name: "a plain ClusterIP Service", edit: func(*corev1.Service) {}},
		{name: "headless with fields it ignores", edit: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
			s.Spec.LoadBalancerIP = "10.1.2.3"
			s.Spec.ExternalIPs = []string{"10.1.2.4"}
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		}, want: []string{
			"spec.loadBalancerIP is ignored for headless services",
			"spec.externalIPs is ignored for headless services",
			"spec.SessionAffinity is ignored for headless services",
		}},
		{name: "externalName on a ClusterIP Service", edit: func(s *corev1.Service) { s.Spec.ExternalName = "example.com" },
			want: []string{`spec.externalName is ignored when spec.type is not "ExternalName"`}},
		{name: "externalIPs on an ExternalName Service", edit: func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ServiceTypeExternalName, "example.com", "", nil
			s.Spec.ExternalIPs = []string{"10.1.2.4"}
		}, want: []string{`spec.externalIPs is ignored when spec.type is "ExternalName"`}},
		{name: "PreferClose", edit: func(s *corev1.Service) { s.Spec.TrafficDistribution = &preferClose },
			want: []string{`spec.trafficDistribution: "PreferClose" is deprecated; use "PreferSameZone"`}},
		{name: "the deprecated topology annotation", edit: func(s *corev1.Service) {
			s.Annotations = map[string]string{corev1.DeprecatedAnnotationTopologyAwareHints: "auto"}
		}, want: []string{"annotation service.kubernetes.io/topology-aware-hints is deprecated, please use service.kubernetes.io/topology-mode instead"}},
		{name: "a non-canonical IPv6 cluster IP", edit: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "FD00:10:0::9", []string{"FD00:10:0::9"}
		}, want: []string{`spec.clusterIPs[0]: IPv6 address "FD00:10:0::9" should be in RFC 5952 canonical format ("fd00:10::9")`}},
		{name: "a source range with host bits", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.1/8"}
		}, want: []string{`spec.loadBalancerSourceRanges[0]: CIDR value "10.0.0.1/8" is ambiguous in this context (should be "10.0.0.0/8" or "10.0.0.1/32"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(corev1.ServiceTypeClusterIP)
			Default(s)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.10", []string{"10.0.0.10"}
			tt.edit(s)
			if got := Warnings(s, nil); !cmp.Equal(got, tt.want) {
				t.Errorf("Warnings:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
