package service

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPredicates(t *testing.T) {
	tests := []struct {
		name                                   string
		edit                                   func(s *corev1.Service)
		headless, externallyAccessible, needHC bool
	}{
		{name: "ClusterIP"},
		{name: "headless", edit: func(s *corev1.Service) { s.Spec.ClusterIP = "None" }, headless: true},
		{name: "headless by clusterIPs only", edit: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"None"} }, headless: true},
		{name: "ClusterIP with externalIPs", edit: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"80.11.12.10"} },
			externallyAccessible: true},
		{name: "NodePort Local", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, externallyAccessible: true},
		{name: "LoadBalancer Cluster", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}, externallyAccessible: true},
		{name: "LoadBalancer Local", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, externallyAccessible: true, needHC: true},
		{name: "ExternalName with externalIPs", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalIPs = []string{"80.11.12.10"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(corev1.ServiceTypeClusterIP)
			if tt.edit != nil {
				tt.edit(svc)
			}
			if got := IsHeadless(svc); got != tt.headless {
				t.Errorf("IsHeadless = %v; want %v", got, tt.headless)
			}
			if got := IsExternallyAccessible(svc); got != tt.externallyAccessible {
				t.Errorf("IsExternallyAccessible = %v; want %v", got, tt.externallyAccessible)
			}
			if got := NeedsHealthCheckNodePort(svc); got != tt.needHC {
				t.Errorf("NeedsHealthCheckNodePort = %v; want %v", got, tt.needHC)
			}
		})
	}
}
