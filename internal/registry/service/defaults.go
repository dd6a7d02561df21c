package service

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Default applies the v1 API defaults kube-apiserver gives a Service on decode
// (SetDefaults_Service): type ClusterIP; sessionAffinity None, which drops any
// sessionAffinityConfig, or ClientIP with a 10800 s timeout when none is given;
// port protocol TCP; targetPort equal to port when unset; externalTrafficPolicy
// Cluster for externally accessible Services; internalTrafficPolicy Cluster for
// ClusterIP, NodePort and LoadBalancer; allocateLoadBalancerNodePorts true and
// status ingress ipMode VIP (for entries with an IP) on LoadBalancers.
// It is idempotent and touches nothing else; clusterIPs and IP families are
// registry-time concerns (see PrepareForCreate and DefaultIPFamilies).
func Default(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		cfg := spec.SessionAffinityConfig
		if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			timeout := corev1.DefaultClientIPServiceAffinitySeconds
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout},
			}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if IsExternallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil {
		switch spec.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			itp := corev1.ServiceInternalTrafficPolicyCluster
			spec.InternalTrafficPolicy = &itp
		}
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			allocate := true
			spec.AllocateLoadBalancerNodePorts = &allocate
		}
		ingress := svc.Status.LoadBalancer.Ingress
		for i := range ingress {
			if ingress[i].IP != "" && ingress[i].IPMode == nil {
				mode := corev1.LoadBalancerIPModeVIP
				ingress[i].IPMode = &mode
			}
		}
	}
}
