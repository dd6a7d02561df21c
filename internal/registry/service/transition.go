package service

import (
	corev1 "k8s.io/api/core/v1"
)

// DropTypeDependentFields wipes, on update, the fields that the new type of svc
// no longer uses, but only those the client left unchanged from old: a changed
// value is taken as deliberate and left for validation to judge. Wiped values that
// were allocated (cluster IPs, node ports) are released by the allocator.
//
//   - leaving the types with cluster IPs (to ExternalName): clusterIP, clusterIPs,
//     ipFamilies and ipFamilyPolicy;
//   - leaving NodePort/LoadBalancer: nodePorts, when no new nodePort was added;
//   - leaving LoadBalancer with externalTrafficPolicy Local: healthCheckNodePort;
//   - leaving LoadBalancer: allocateLoadBalancerNodePorts and loadBalancerClass;
//   - no longer externally accessible: externalTrafficPolicy;
//   - any type but LoadBalancer: status.loadBalancer is cleared.
//
// old is not modified.
func DropTypeDependentFields(svc, old *corev1.Service) {
	if old == nil {
		return
	}
	spec := &svc.Spec
	if needsClusterIP(old) && !needsClusterIP(svc) {
		if spec.ClusterIP == old.Spec.ClusterIP && sameStrings(spec.ClusterIPs, old.Spec.ClusterIPs) {
			spec.ClusterIP = ""
			spec.ClusterIPs = nil
		}
		if sameFamilies(spec.IPFamilies, old.Spec.IPFamilies) {
			spec.IPFamilies = nil
		}
		if samePolicy(spec.IPFamilyPolicy, old.Spec.IPFamilyPolicy) {
			spec.IPFamilyPolicy = nil
		}
	}
	if needsNodePorts(old) && !needsNodePorts(svc) && noNewNodePorts(svc, old) {
		for i := range spec.Ports {
			spec.Ports[i].NodePort = 0
		}
	}
	if NeedsHealthCheckNodePort(old) && !NeedsHealthCheckNodePort(svc) && spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		spec.HealthCheckNodePort = 0
	}
	if old.Spec.Type == corev1.ServiceTypeLoadBalancer && spec.Type != corev1.ServiceTypeLoadBalancer {
		if a, b := spec.AllocateLoadBalancerNodePorts, old.Spec.AllocateLoadBalancerNodePorts; a != nil && b != nil && *a == *b {
			spec.AllocateLoadBalancerNodePorts = nil
		}
		if sameStringPtr(spec.LoadBalancerClass, old.Spec.LoadBalancerClass) {
			spec.LoadBalancerClass = nil
		}
	}
	if IsExternallyAccessible(old) && !IsExternallyAccessible(svc) && spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
		spec.ExternalTrafficPolicy = ""
	}
	if spec.Type != corev1.ServiceTypeLoadBalancer {
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
}

// noNewNodePorts reports whether every nodePort set in svc was already set in old:
// ports may be added, removed or changed as long as no new node port appears.
func noNewNodePorts(svc, old *corev1.Service) bool {
	had := make(map[int32]bool, len(old.Spec.Ports))
	for _, p := range old.Spec.Ports {
		if p.NodePort != 0 {
			had[p.NodePort] = true
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !had[p.NodePort] {
			return false
		}
	}
	return true
}
