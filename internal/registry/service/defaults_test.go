package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDefault(t *testing.T) {
	cluster := ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
	tests := []struct {
		name string
		in   corev1.Service
		want corev1.Service
	}{
		{
			name: "empty spec",
			in:   corev1.Service{},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
				InternalTrafficPolicy: cluster,
			}},
		},
		{
			name: "ports get protocol and targetPort",
			in: corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
				{Port: 80},
				{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("")},
				{Port: 443, TargetPort: intstr.FromString("https")},
				{Port: 8080, TargetPort: intstr.FromInt32(9090)},
			}}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
				InternalTrafficPolicy: cluster,
				Ports: []corev1.ServicePort{
					{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)},
					{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
					{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("https")},
					{Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)},
				},
			}},
		},
		{
			name: "affinity None drops its config",
			in: corev1.Service{Spec: corev1.ServiceSpec{
				SessionAffinity:       corev1.ServiceAffinityNone,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](60)}},
			}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
				InternalTrafficPolicy: cluster,
			}},
		},
		{
			name: "ClientIP gets three hours",
			in:   corev1.Service{Spec: corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](10800)}},
				InternalTrafficPolicy: cluster,
			}},
		},
		{
			name: "ClientIP keeps its timeout",
			in: corev1.Service{Spec: corev1.ServiceSpec{
				SessionAffinity:       corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](60)}},
			}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](60)}},
				InternalTrafficPolicy: cluster,
			}},
		},
		{
			name: "ClusterIP with externalIPs is externally accessible",
			in:   corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"80.11.12.10"}}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
				ExternalIPs: []string{"80.11.12.10"}, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy: cluster,
			}},
		},
		{
			name: "NodePort",
			in:   corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeNodePort, SessionAffinity: corev1.ServiceAffinityNone,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster, InternalTrafficPolicy: cluster,
			}},
		},
		{
			name: "LoadBalancer with status",
			in: corev1.Service{
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
					{IP: "146.148.47.155"},
					{IP: "146.148.47.156", IPMode: ptrTo(corev1.LoadBalancerIPModeProxy)},
					{Hostname: "lb.example.com"},
				}}},
			},
			want: corev1.Service{
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityNone,
					ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, InternalTrafficPolicy: cluster,
					AllocateLoadBalancerNodePorts: ptrTo(true),
				},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
					{IP: "146.148.47.155", IPMode: ptrTo(corev1.LoadBalancerIPModeVIP)},
					{IP: "146.148.47.156", IPMode: ptrTo(corev1.LoadBalancerIPModeProxy)},
					{Hostname: "lb.example.com"},
				}}},
			},
		},
		{
			name: "LoadBalancer keeps allocateLoadBalancerNodePorts false",
			in:   corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: ptrTo(false)}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityNone,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster, InternalTrafficPolicy: cluster,
				AllocateLoadBalancerNodePorts: ptrTo(false),
			}},
		},
		{
			name: "ExternalName gets no traffic policies",
			in:   corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
			want: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: corev1.ServiceAffinityNone,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.DeepCopy()
			Default(got)
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("Default() mismatch (-want +got):\n%s", diff)
			}
			again := got.DeepCopy()
			Default(again)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Default() is not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}
