package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestDefaultIPFamilies(t *testing.T) {
	v4, v6 := corev1.IPv4Protocol, corev1.IPv6Protocol
	single, require := corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyRequireDualStack
	tests := []struct {
		name         string
		primary      corev1.IPFamily
		edit         func(s *corev1.Service)
		wantPolicy   *corev1.IPFamilyPolicy
		wantFamilies []corev1.IPFamily
	}{
		{name: "IPv4 cluster", primary: v4, wantPolicy: &single, wantFamilies: []corev1.IPFamily{v4}},
		{name: "IPv6 cluster", primary: v6, wantPolicy: &single, wantFamilies: []corev1.IPFamily{v6}},
		{name: "family follows the given clusterIP", primary: v4,
			edit:       func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::5", []string{"fd00::5"} },
			wantPolicy: &single, wantFamilies: []corev1.IPFamily{v6}},
		{name: "given families and policy stay", primary: v4,
			edit: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
				s.Spec.IPFamilies = []corev1.IPFamily{v4}
			},
			wantPolicy: ptrTo(corev1.IPFamilyPolicyPreferDualStack), wantFamilies: []corev1.IPFamily{v4}},
		{name: "headless with selector", primary: v6,
			edit:       func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} },
			wantPolicy: &single, wantFamilies: []corev1.IPFamily{v6}},
		{name: "headless without selector is dual", primary: v4,
			edit: func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
				s.Spec.Selector = nil
			},
			wantPolicy: &require, wantFamilies: []corev1.IPFamily{v4, v6}},
		{name: "headless without selector, IPv6 primary", primary: v6,
			edit: func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
				s.Spec.Selector = nil
			},
			wantPolicy: &require, wantFamilies: []corev1.IPFamily{v6, v4}},
		{name: "headless without selector asking for SingleStack", primary: v4,
			edit: func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
				s.Spec.Selector = nil
				s.Spec.IPFamilyPolicy = &single
			},
			wantPolicy: &single, wantFamilies: []corev1.IPFamily{v4}},
		{name: "ExternalName untouched", primary: v4,
			edit: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(corev1.ServiceTypeClusterIP)
			if tt.edit != nil {
				tt.edit(svc)
			}
			DefaultIPFamilies(svc, tt.primary)
			if !cmp.Equal(svc.Spec.IPFamilyPolicy, tt.wantPolicy) || !cmp.Equal(svc.Spec.IPFamilies, tt.wantFamilies) {
				t.Errorf("DefaultIPFamilies(%s) = policy %v, families %v; want %v, %v", tt.primary,
					policyOf(svc.Spec.IPFamilyPolicy), svc.Spec.IPFamilies, policyOf(tt.wantPolicy), tt.wantFamilies)
			}
			again := svc.DeepCopy()
			DefaultIPFamilies(again, tt.primary)
			if diff := cmp.Diff(svc, again); diff != "" {
				t.Errorf("DefaultIPFamilies is not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}

func TestValidateClusterFamilies(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *corev1.Service)
		want []wantErr
	}{
		{name: "defaults fit"},
		{name: "IPv4 clusterIP fits", edit: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.5", []string{"10.0.0.5"} }},
		{name: "IPv6 clusterIP", edit: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::5", []string{"fd00::5"} },
			want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "IPv6 is not configured on this cluster"}}},
		{name: "IPv6 family", edit: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} },
			want: []wantErr{{path: "spec.ipFamilies[0]", typ: invalid, detail: "not configured on this cluster"}}},
		{name: "RequireDualStack", edit: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack) },
			want: []wantErr{{path: "spec.ipFamilyPolicy", typ: invalid, detail: "this cluster is not configured for dual-stack services"}}},
		{name: "PreferDualStack is fine", edit: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack) }},
		{name: "headless without selector may be dual", edit: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
			s.Spec.Selector = nil
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		}},
		{name: "ExternalName is not checked", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(corev1.ServiceTypeClusterIP)
			if tt.edit != nil {
				tt.edit(svc)
			}
			checkErrs(t, ValidateClusterFamilies(svc, corev1.IPv4Protocol), tt.want)
		})
	}
}
