package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestDropTypeDependentFields(t *testing.T) {
	// lbLocal is a stored LoadBalancer with every type-dependent field set.
	lbLocal := func() *corev1.Service {
		s := newService(corev1.ServiceTypeLoadBalancer)
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.LoadBalancerClass = ptrTo("example.com/lb")
		stored(s)
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}}
		return s
	}
	tests := []struct {
		name string
		old  func() *corev1.Service
		// edit turns a copy of old into the new object; want edits another copy
		// into the expected result.
		edit, want func(s *corev1.Service)
	}{
		{
			name: "LoadBalancer to ClusterIP wipes what is unchanged",
			old:  lbLocal,
			edit: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP },
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort = 0
				s.Spec.HealthCheckNodePort = 0
				s.Spec.AllocateLoadBalancerNodePorts = nil
				s.Spec.LoadBalancerClass = nil
				s.Spec.ExternalTrafficPolicy = ""
				s.Status.LoadBalancer = corev1.LoadBalancerStatus{}
			},
		},
		{
			name: "LoadBalancer to ClusterIP keeps what the user changed",
			old:  lbLocal,
			edit: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort = 30999
				s.Spec.HealthCheckNodePort = 30998
				s.Spec.AllocateLoadBalancerNodePorts = ptrTo(false)
				s.Spec.LoadBalancerClass = ptrTo("example.com/other")
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			},
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort = 30999
				s.Spec.HealthCheckNodePort = 30998
				s.Spec.AllocateLoadBalancerNodePorts = ptrTo(false)
				s.Spec.LoadBalancerClass = ptrTo("example.com/other")
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
				s.Status.LoadBalancer = corev1.LoadBalancerStatus{}
			},
		},
		{
			name: "LoadBalancer to NodePort keeps node ports, drops LB-only fields",
			old:  lbLocal,
			edit: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort },
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeNodePort
				s.Spec.HealthCheckNodePort = 0
				s.Spec.AllocateLoadBalancerNodePorts = nil
				s.Spec.LoadBalancerClass = nil
				s.Status.LoadBalancer = corev1.LoadBalancerStatus{}
			},
		},
		{
			name: "Local to Cluster on a LoadBalancer releases the health check port",
			old:  lbLocal,
			edit: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster },
			want: func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
				s.Spec.HealthCheckNodePort = 0
			},
		},
		{
			name: "NodePort to ClusterIP with a node port removed still wipes",
			old: func() *corev1.Service {
				s := newService(corev1.ServiceTypeNodePort)
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443})
				return stored(s)
			},
			edit: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports = s.Spec.Ports[1:]
			},
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports = s.Spec.Ports[1:]
				s.Spec.Ports[0].NodePort = 0
				s.Spec.ExternalTrafficPolicy = ""
			},
		},
		{
			name: "to ExternalName releases cluster IP fields",
			old:  func() *corev1.Service { return stored(newService(corev1.ServiceTypeClusterIP)) },
			edit: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeExternalName
				s.Spec.ExternalName = "db.example.com"
			},
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeExternalName
				s.Spec.ExternalName = "db.example.com"
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
				s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = nil, nil
			},
		},
		{
			name: "to ExternalName keeps a changed clusterIP for validation",
			old:  func() *corev1.Service { return stored(newService(corev1.ServiceTypeClusterIP)) },
			edit: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeExternalName
				s.Spec.ExternalName = "db.example.com"
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.99", []string{"10.0.0.99"}
			},
			want: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeExternalName
				s.Spec.ExternalName = "db.example.com"
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.0.0.99", []string{"10.0.0.99"}
				s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = nil, nil
			},
		},
		{
			name: "ClusterIP losing its externalIPs drops externalTrafficPolicy",
			old: func() *corev1.Service {
				s := newService(corev1.ServiceTypeClusterIP)
				s.Spec.ExternalIPs = []string{"80.11.12.10"}
				return stored(s)
			},
			edit: func(s *corev1.Service) { s.Spec.ExternalIPs = nil },
			want: func(s *corev1.Service) {
				s.Spec.ExternalIPs = nil
				s.Spec.ExternalTrafficPolicy = ""
			},
		},
		{
			name: "no type change, nothing dropped",
			old:  lbLocal,
			edit: func(s *corev1.Service) { s.Labels = map[string]string{"a": "b"} },
			want: func(s *corev1.Service) { s.Labels = map[string]string{"a": "b"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := tt.old()
			svc := old.DeepCopy()
			tt.edit(svc)
			want := old.DeepCopy()
			tt.want(want)
			DropTypeDependentFields(svc, old)
			if diff := cmp.Diff(want, svc); diff != "" {
				t.Errorf("DropTypeDependentFields mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("create is left alone", func(t *testing.T) {
		svc := lbLocal()
		want := svc.DeepCopy()
		DropTypeDependentFields(svc, nil)
		if diff := cmp.Diff(want, svc); diff != "" {
			t.Errorf("DropTypeDependentFields(svc, nil) changed svc (-want +got):\n%s", diff)
		}
	})
}
