package service

import (
	corev1 "k8s.io/api/core/v1"
)

// IsHeadless reports whether svc asks for no cluster IP: spec.clusterIP is "None",
// or clusterIP is unset and clusterIPs is exactly ["None"].
func IsHeadless(svc *corev1.Service) bool {
	if svc == nil {
		return false
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return true
	}
	return svc.Spec.ClusterIP == "" && clusterIPsHeadless(svc)
}

// clusterIPsHeadless is kube-apiserver's validation notion of headless: clusterIPs
// holds exactly "None". Validation uses it so that errors match kube-apiserver even
// when clusterIP and clusterIPs disagree.
func clusterIPsHeadless(svc *corev1.Service) bool {
	return svc != nil && len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// IsExternallyAccessible reports whether traffic from outside the cluster can reach
// svc: it is a NodePort or LoadBalancer Service, or a ClusterIP Service with
// externalIPs. Only such Services carry an externalTrafficPolicy.
func IsExternallyAccessible(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		return true
	case corev1.ServiceTypeClusterIP:
		return len(svc.Spec.ExternalIPs) > 0
	}
	return false
}

// NeedsHealthCheckNodePort reports whether svc needs a healthCheckNodePort: a
// LoadBalancer Service with externalTrafficPolicy Local.
func NeedsHealthCheckNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// needsClusterIP reports whether svc's type carries clusterIP(s) at all ("None"
// counts as a value).
func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName
}

// needsNodePorts reports whether svc's type uses node ports.
func needsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// headlessWithoutSelector is the special case kube-apiserver defaults to dual-stack
// families: such Services get no IP, and their endpoints may be of any family.
func headlessWithoutSelector(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == corev1.ClusterIPNone && len(svc.Spec.Selector) == 0
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameFamilies(a, b []corev1.IPFamily) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func samePolicy(a, b *corev1.IPFamilyPolicy) bool {
	return policyOf(a) == policyOf(b)
}

func policyOf(p *corev1.IPFamilyPolicy) corev1.IPFamilyPolicy {
	if p == nil {
		return ""
	}
	return *p
}

func sameStringPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
