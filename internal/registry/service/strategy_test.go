package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestPrepareForCreate(t *testing.T) {
	tests := []struct {
		name            string
		clusterIP       string
		clusterIPs      []string
		wantClusterIP   string
		wantClusterIPs  []string
		wantStatusWiped bool
	}{
		{name: "neither set", wantStatusWiped: true},
		{name: "singular only", clusterIP: "10.0.0.5", wantClusterIP: "10.0.0.5", wantClusterIPs: []string{"10.0.0.5"}, wantStatusWiped: true},
		{name: "headless", clusterIP: "None", wantClusterIP: "None", wantClusterIPs: []string{"None"}, wantStatusWiped: true},
		{name: "both set", clusterIP: "10.0.0.5", clusterIPs: []string{"10.0.0.5", "fd00::5"},
			wantClusterIP: "10.0.0.5", wantClusterIPs: []string{"10.0.0.5", "fd00::5"}, wantStatusWiped: true},
		{name: "plural only is left for validation", clusterIPs: []string{"10.0.0.5"},
			wantClusterIPs: []string{"10.0.0.5"}, wantStatusWiped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(corev1.ServiceTypeLoadBalancer)
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = tt.clusterIP, tt.clusterIPs
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}}
			PrepareForCreate(svc)
			if svc.Spec.ClusterIP != tt.wantClusterIP || !cmp.Equal(svc.Spec.ClusterIPs, tt.wantClusterIPs) {
				t.Errorf("PrepareForCreate: clusterIP, clusterIPs = %q, %q; want %q, %q",
					svc.Spec.ClusterIP, svc.Spec.ClusterIPs, tt.wantClusterIP, tt.wantClusterIPs)
			}
			if got := len(svc.Status.LoadBalancer.Ingress) == 0; got != tt.wantStatusWiped {
				t.Errorf("PrepareForCreate: status wiped = %v; want %v", got, tt.wantStatusWiped)
			}
		})
	}
}

func TestPrepareForUpdate(t *testing.T) {
	tests := []struct {
		name string
		typ  corev1.ServiceType
		old  func(s *corev1.Service)
		// oldIngress is the stored status (create wipes what old sets).
		oldIngress []corev1.LoadBalancerIngress
		edit       func(s *corev1.Service)
		// check inspects the prepared Service.
		check func(t *testing.T, got *corev1.Service)
	}{
		{
			name: "allocated values come back when left out", typ: corev1.ServiceTypeLoadBalancer,
			old: func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443})
			},
			edit: func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
				s.Spec.HealthCheckNodePort = 0
				s.Spec.IPFamilyPolicy = nil
				// Ports reordered and one new port: node ports follow the names.
				s.Spec.Ports = []corev1.ServicePort{
					{Name: "https", Port: 443},
					{Name: "metrics", Port: 9090},
					{Name: "http", Port: 80},
				}
			},
			check: func(t *testing.T, got *corev1.Service) {
				if got.Spec.ClusterIP != "10.0.0.10" || !cmp.Equal(got.Spec.ClusterIPs, []string{"10.0.0.10"}) {
					t.Errorf("clusterIP(s) = %q, %q; want 10.0.0.10 back", got.Spec.ClusterIP, got.Spec.ClusterIPs)
				}
				var nodePorts []int32
				for _, p := range got.Spec.Ports {
					nodePorts = append(nodePorts, p.NodePort)
				}
				if want := []int32{30081, 0, 30080}; !cmp.Equal(nodePorts, want) {
					t.Errorf("nodePorts = %v; want %v", nodePorts, want)
				}
				if got.Spec.HealthCheckNodePort != 30100 {
					t.Errorf("healthCheckNodePort = %d; want 30100", got.Spec.HealthCheckNodePort)
				}
				if policyOf(got.Spec.IPFamilyPolicy) != corev1.IPFamilyPolicySingleStack {
					t.Errorf("ipFamilyPolicy = %v; want the old SingleStack", got.Spec.IPFamilyPolicy)
				}
			},
		},
		{
			name:       "status comes from old",
			typ:        corev1.ServiceTypeLoadBalancer,
			oldIngress: []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}},
			edit: func(s *corev1.Service) {
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "146.148.47.200"}}
			},
			check: func(t *testing.T, got *corev1.Service) {
				if in := got.Status.LoadBalancer.Ingress; len(in) != 1 || in[0].IP != "146.148.47.155" {
					t.Errorf("status ingress = %v; want the old 146.148.47.155", in)
				}
			},
		},
		{
			name: "changed clusterIP drags clusterIPs along",
			edit: func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.11" },
			check: func(t *testing.T, got *corev1.Service) {
				if !cmp.Equal(got.Spec.ClusterIPs, []string{"10.0.0.11"}) {
					t.Errorf("clusterIPs = %q; want [10.0.0.11]", got.Spec.ClusterIPs)
				}
			},
		},
		{
			name: "clusterIPs dropped by an old client come back",
			edit: func(s *corev1.Service) { s.Spec.ClusterIPs = nil },
			check: func(t *testing.T, got *corev1.Service) {
				if !cmp.Equal(got.Spec.ClusterIPs, []string{"10.0.0.10"}) {
					t.Errorf("clusterIPs = %q; want [10.0.0.10]", got.Spec.ClusterIPs)
				}
			},
		},
		{
			name: "SingleStack trims an unchanged secondary",
			old: func(s *corev1.Service) {
				s.Spec.ClusterIP = "10.0.0.10"
				s.Spec.ClusterIPs = []string{"10.0.0.10", "fd00::10"}
				s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
				s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
			},
			edit: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack) },
			check: func(t *testing.T, got *corev1.Service) {
				if !cmp.Equal(got.Spec.ClusterIPs, []string{"10.0.0.10"}) || !cmp.Equal(got.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) {
					t.Errorf("clusterIPs, ipFamilies = %q, %q; want only the primary", got.Spec.ClusterIPs, got.Spec.IPFamilies)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			if typ == "" {
				typ = corev1.ServiceTypeClusterIP
			}
			old := newService(typ)
			if tt.old != nil {
				tt.old(old)
			}
			stored(old)
			old.Status.LoadBalancer.Ingress = tt.oldIngress
			before := old.DeepCopy()
			svc := old.DeepCopy()
			tt.edit(svc)
			Default(svc)
			PrepareForUpdate(svc, old)
			tt.check(t, svc)
			if diff := cmp.Diff(before, old); diff != "" {
				t.Errorf("PrepareForUpdate modified old (-before +after):\n%s", diff)
			}
		})
	}
}

func TestPrepareForStatusUpdate(t *testing.T) {
	old := stored(newService(corev1.ServiceTypeLoadBalancer))
	svc := old.DeepCopy()
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	svc.Spec.Selector = map[string]string{"app": "other"}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}}
	svc.Labels = map[string]string{"new": "label"}
	PrepareForStatusUpdate(svc, old)
	if diff := cmp.Diff(old.Spec, svc.Spec); diff != "" {
		t.Errorf("PrepareForStatusUpdate kept a spec change (-old +got):\n%s", diff)
	}
	if len(svc.Status.LoadBalancer.Ingress) != 1 || svc.Labels["new"] != "label" {
		t.Errorf("PrepareForStatusUpdate: status %v, labels %v; want the new ones kept", svc.Status, svc.Labels)
	}
}
