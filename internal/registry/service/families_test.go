package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

var (
	v4, v6   = corev1.IPv4Protocol, corev1.IPv6Protocol
	only4    = []corev1.IPFamily{v4}
	only6    = []corev1.IPFamily{v6}
	dual46   = []corev1.IPFamily{v4, v6}
	dual64   = []corev1.IPFamily{v6, v4}
	single   = corev1.IPFamilyPolicySingleStack
	prefer   = corev1.IPFamilyPolicyPreferDualStack
	require  = corev1.IPFamilyPolicyRequireDualStack
	headless = func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} }
)

func TestDefaultIPFamilies(t *testing.T) {
	tests := []struct {
		name         string
		cluster      []corev1.IPFamily
		edit         func(s *corev1.Service)
		wantPolicy   *corev1.IPFamilyPolicy
		wantFamilies []corev1.IPFamily
	}{
		{name: "IPv4 cluster", cluster: only4, wantPolicy: &single, wantFamilies: only4},
		{name: "IPv6 cluster", cluster: only6, wantPolicy: &single, wantFamilies: only6},
		{name: "family follows the given clusterIP", cluster: dual46,
			edit:       func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::5", []string{"fd00::5"} },
			wantPolicy: &single, wantFamilies: only6},
		{name: "clusterIP of a family the cluster lacks is left for validation", cluster: only4,
			edit:       func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::5", []string{"fd00::5"} },
			wantPolicy: &single},
		{name: "PreferDualStack on a single-stack cluster stays single", cluster: only4,
			edit:       func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(prefer) },
			wantPolicy: &prefer, wantFamilies: only4},
		{name: "PreferDualStack on a dual-stack cluster gets both, primary first", cluster: dual64,
			edit:       func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(prefer) },
			wantPolicy: &prefer, wantFamilies: dual64},
		{name: "RequireDualStack with a given family adds the other", cluster: dual46,
			edit: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy = ptrTo(require)
				s.Spec.IPFamilies = only6
			},
			wantPolicy: &require, wantFamilies: dual64},
		{name: "dual-stack clusterIPs infer both families", cluster: dual46,
			edit: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy = ptrTo(require)
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::5", []string{"fd00::5", "10.0.0.5"}
			},
			wantPolicy: &require, wantFamilies: dual64},
		{name: "SingleStack on a dual-stack cluster gets the primary only", cluster: dual64,
			wantPolicy: &single, wantFamilies: only6},
		{name: "given families and policy stay", cluster: only4,
			edit: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy = ptrTo(prefer)
				s.Spec.IPFamilies = only4
			},
			wantPolicy: &prefer, wantFamilies: only4},
		{name: "headless with selector", cluster: only6, edit: headless, wantPolicy: &single, wantFamilies: only6},
		{name: "headless with selector, PreferDualStack, dual-stack cluster", cluster: dual46,
			edit: func(s *corev1.Service) {
				headless(s)
				s.Spec.IPFamilyPolicy = ptrTo(prefer)
			},
			wantPolicy: &prefer, wantFamilies: dual46},
		{name: "headless without selector is dual", cluster: only4,
			edit: func(s *corev1.Service) {
				headless(s)
				s.Spec.Selector = nil
			},
			wantPolicy: &require, wantFamilies: dual46},
		{name: "headless without selector, IPv6 primary", cluster: only6,
			edit: func(s *corev1.Service) {
				headless(s)
				s.Spec.Selector = nil
			},
			wantPolicy: &require, wantFamilies: dual64},
		{name: "headless without selector asking for SingleStack", cluster: only4,
			edit: func(s *corev1.Service) {
				headless(s)
				s.Spec.Selector = nil
				s.Spec.IPFamilyPolicy = &single
			},
			wantPolicy: &single, wantFamilies: only4},
		{name: "ExternalName untouched", cluster: dual46,
			edit: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(corev1.ServiceTypeClusterIP)
			if tt.edit != nil {
				tt.edit(svc)
			}
			DefaultIPFamilies(svc, nil, tt.cluster)
			if !cmp.Equal(svc.Spec.IPFamilyPolicy, tt.wantPolicy) || !cmp.Equal(svc.Spec.IPFamilies, tt.wantFamilies) {
				t.Errorf("DefaultIPFamilies(%v) = policy %v, families %v; want %v, %v", tt.cluster,
					policyOf(svc.Spec.IPFamilyPolicy), svc.Spec.IPFamilies, policyOf(tt.wantPolicy), tt.wantFamilies)
			}
			again := svc.DeepCopy()
			DefaultIPFamilies(again, nil, tt.cluster)
			if diff := cmp.Diff(svc, again); diff != "" {
				t.Errorf("DefaultIPFamilies is not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}

// TestDefaultIPFamiliesOnUpdate runs updates through PrepareForUpdate and
// DefaultIPFamilies, as the server does, and checks what the Service asks of the
// allocator: its families (clusterIPs beyond the stored ones are allocated, those
// dropped are released).
func TestDefaultIPFamiliesOnUpdate(t *testing.T) {
	storedAs := func(policy corev1.IPFamilyPolicy, ips []string, fams []corev1.IPFamily) *corev1.Service {
		s := stored(newService(corev1.ServiceTypeClusterIP))
		s.Spec.IPFamilyPolicy = ptrTo(policy)
		s.Spec.ClusterIP, s.Spec.ClusterIPs = ips[0], ips
		s.Spec.IPFamilies = fams
		return s
	}
	singleV4 := storedAs(single, []string{"10.0.0.10"}, only4)
	preferV4 := storedAs(prefer, []string{"10.0.0.10"}, only4)
	preferDual := storedAs(prefer, []string{"10.0.0.10", "fd00::10"}, dual46)
	requireDual := storedAs(require, []string{"10.0.0.10", "fd00::10"}, dual46)
	tests := []struct {
		name         string
		old          *corev1.Service
		cluster      []corev1.IPFamily
		edit         func(s *corev1.Service)
		wantPolicy   corev1.IPFamilyPolicy
		wantIPs      []string
		wantFamilies []corev1.IPFamily
	}{
		{name: "unchanged PreferDualStack is not upgraded when the cluster became dual-stack",
			old: preferV4, cluster: dual46,
			wantPolicy: prefer, wantIPs: []string{"10.0.0.10"}, wantFamilies: only4},
		{name: "unchanged PreferDualStack is not downgraded when the cluster lost a family",
			old: preferDual, cluster: only4,
			wantPolicy: prefer, wantIPs: []string{"10.0.0.10", "fd00::10"}, wantFamilies: dual46},
		{name: "SingleStack upgraded to PreferDualStack gets the second family",
			old: singleV4, cluster: dual46,
			edit:       func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(prefer) },
			wantPolicy: prefer, wantIPs: []string{"10.0.0.10"}, wantFamilies: dual46},
		{name: "RequireDualStack downgraded to SingleStack drops the secondary",
			old: requireDual, cluster: dual46,
			edit:       func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(single) },
			wantPolicy: single, wantIPs: []string{"10.0.0.10"}, wantFamilies: only4},
		{name: "policy left out is carried over",
			old: requireDual, cluster: dual46,
			edit:       func(s *corev1.Service) { s.Spec.IPFamilyPolicy = nil },
			wantPolicy: require, wantIPs: []string{"10.0.0.10", "fd00::10"}, wantFamilies: dual46},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := tt.old.DeepCopy()
			if tt.edit != nil {
				tt.edit(svc)
			}
			PrepareForUpdate(svc, tt.old)
			DefaultIPFamilies(svc, tt.old, tt.cluster)
			if policyOf(svc.Spec.IPFamilyPolicy) != tt.wantPolicy || !cmp.Equal(svc.Spec.ClusterIPs, tt.wantIPs) ||
				!cmp.Equal(svc.Spec.IPFamilies, tt.wantFamilies) {
				t.Errorf("got policy %v, clusterIPs %v, families %v; want %v, %v, %v", policyOf(svc.Spec.IPFamilyPolicy),
					svc.Spec.ClusterIPs, svc.Spec.IPFamilies, tt.wantPolicy, tt.wantIPs, tt.wantFamilies)
			}
			if errs := ValidateClusterFamilies(svc, tt.old, tt.cluster); len(errs) > 0 {
				t.Errorf("ValidateClusterFamilies = %v; want none", errs)
			}
		})
	}
}

func TestValidateClusterFamilies(t *testing.T) {
	tests := []struct {
		name    string
		cluster []corev1.IPFamily
		edit    func(s *corev1.Service)
		want    []wantErr
	}{
		{name: "defaults fit", cluster: only4},
		{name: "IPv4 clusterIP fits", cluster: only4, edit: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.5", []string{"10.0.0.5"} }},
		{name: "IPv6 clusterIP", cluster: only4, edit: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "fd00::5", []string{"fd00::5"} },
			want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "IPv6 is not configured on this cluster"}}},
		{name: "IPv6 secondary clusterIP on an IPv4 cluster", cluster: only4, edit: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(prefer)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.5", []string{"10.0.0.5", "fd00::5"}
		},
			want: []wantErr{{path: "spec.clusterIPs[1]", typ: invalid, detail: "IPv6 is not configured on this cluster"}}},
		{name: "IPv6 family", cluster: only4, edit: func(s *corev1.Service) { s.Spec.IPFamilies = only6 },
			want: []wantErr{{path: "spec.ipFamilies[0]", typ: invalid, detail: "not configured on this cluster"}}},
		{name: "IPv6 family on a dual-stack cluster", cluster: dual46, edit: func(s *corev1.Service) { s.Spec.IPFamilies = only6 }},
		{name: "RequireDualStack", cluster: only4, edit: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(require) },
			want: []wantErr{{path: "spec.ipFamilyPolicy", typ: invalid, detail: "this cluster is not configured for dual-stack services"}}},
		{name: "RequireDualStack on a dual-stack cluster", cluster: dual64, edit: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(require) }},
		{name: "PreferDualStack is fine", cluster: only4, edit: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(prefer) }},
		{name: "headless without selector may be dual", cluster: only4, edit: func(s *corev1.Service) {
			headless(s)
			s.Spec.Selector = nil
			s.Spec.IPFamilies = dual46
			s.Spec.IPFamilyPolicy = ptrTo(require)
		}},
		{name: "ExternalName is not checked", cluster: only4, edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.IPFamilies = only6
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(corev1.ServiceTypeClusterIP)
			if tt.edit != nil {
				tt.edit(svc)
			}
			checkErrs(t, ValidateClusterFamilies(svc, nil, tt.cluster), tt.want)
		})
	}
}

// TestValidateFamilyRelease drops the secondary cluster IP or family without
// SingleStack, as a patch or replace of a dual-stack Service would, and expects
// kube-apiserver's allocation-time refusal, with the dropped family left out
// (not inferred back) by DefaultIPFamilies.
func TestValidateFamilyRelease(t *testing.T) {
	old := stored(newService(corev1.ServiceTypeClusterIP))
	old.Spec.IPFamilyPolicy = ptrTo(prefer)
	old.Spec.ClusterIP, old.Spec.ClusterIPs = "10.0.0.10", []string{"10.0.0.10", "fd00::10"}
	old.Spec.IPFamilies = dual46
	tests := []struct {
		name string
		edit func(s *corev1.Service)
		want []string
	}{
		{name: "families reduced", edit: func(s *corev1.Service) { s.Spec.IPFamilies = only4 },
			want: []string{`spec.ipFamilyPolicy: Invalid value: "PreferDualStack": must be 'SingleStack' to release the secondary IP family`}},
		{name: "cluster IPs reduced", edit: func(s *corev1.Service) { s.Spec.ClusterIPs = s.Spec.ClusterIPs[:1] },
			want: []string{`spec.ipFamilyPolicy: Invalid value: "PreferDualStack": must be 'SingleStack' to release the secondary cluster IP`}},
		{name: "both reduced under RequireDualStack", edit: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(require)
			s.Spec.ClusterIPs, s.Spec.IPFamilies = s.Spec.ClusterIPs[:1], only4
		}, want: []string{
			`spec.ipFamilyPolicy: Invalid value: "RequireDualStack": must be 'SingleStack' to release the secondary cluster IP`,
			`spec.ipFamilyPolicy: Invalid value: "RequireDualStack": must be 'SingleStack' to release the secondary IP family`}},
		{name: "SingleStack releases", edit: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(single)
			s.Spec.ClusterIPs, s.Spec.IPFamilies = s.Spec.ClusterIPs[:1], only4
		}},
		{name: "families left out are not a reduction", edit: func(s *corev1.Service) { s.Spec.IPFamilies = nil }},
		{name: "to ExternalName", edit: func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
			s.Spec.ClusterIPs, s.Spec.IPFamilies = s.Spec.ClusterIPs[:1], only4
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := old.DeepCopy()
			tt.edit(svc)
			PrepareForUpdate(svc, old)
			DefaultIPFamilies(svc, old, dual46)
			var got []string
			for _, e := range ValidateFamilyRelease(svc, old) {
				got = append(got, e.Error())
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("errors:\n%q\nwant\n%q", got, tt.want)
			}
			if tt.name == "families reduced" && !cmp.Equal(svc.Spec.IPFamilies, only4) {
				t.Errorf("DefaultIPFamilies made families %v of the reduced %v", svc.Spec.IPFamilies, only4)
			}
		})
	}
}
