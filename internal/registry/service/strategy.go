package service

import (
	corev1 "k8s.io/api/core/v1"
)

// PrepareForCreate applies the registry strategy to a new Service: status is a
// subresource, so whatever the client sent there is dropped, and clusterIPs is
// initialised from clusterIP when only the singular field was given (old clients).
// A Service that gives clusterIPs but no clusterIP is left for validation to
// reject, as kube-apiserver does.
func PrepareForCreate(svc *corev1.Service) {
	svc.Status = corev1.ServiceStatus{}
	normalizeClusterIPs(svc, nil)
}

// PrepareForUpdate applies the registry strategy to an update of the main resource,
// in kube-apiserver's order:
//
//  1. values the server allocated and the client left out (clusterIP(s), nodePorts
//     matched by port name, healthCheckNodePort) are copied from old, so
//     re-submitting the original manifest is not a change;
//  2. clusterIP and clusterIPs are brought back in sync;
//  3. a missing ipFamilyPolicy is taken from old, and an explicit SingleStack
//     trims an unchanged secondary clusterIP and family;
//  4. status is kept from old (it is only written through /status);
//  5. DropTypeDependentFields wipes fields the new type no longer uses.
//
// old is not modified.
func PrepareForUpdate(svc, old *corev1.Service) {
	patchAllocatedValues(svc, old)
	normalizeClusterIPs(svc, old)
	adoptFamilyPolicy(svc, old)
	svc.Status = *old.Status.DeepCopy()
	DropTypeDependentFields(svc, old)
}

// PrepareForStatusUpdate applies the strategy of the status subresource: only
// status may change, so the spec is restored from old. Metadata is left to the
// server's generic handling, as kube-apiserver does.
func PrepareForStatusUpdate(svc, old *corev1.Service) {
	svc.Spec = *old.Spec.DeepCopy()
}

// normalizeClusterIPs keeps spec.clusterIP and spec.clusterIPs consistent, guessing
// what a client that only knows one of the two fields meant. old is nil on create.
// Anything it cannot reconcile is left for validation to report.
func normalizeClusterIPs(svc, old *corev1.Service) {
	spec := &svc.Spec
	if old == nil {
		if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
			spec.ClusterIPs = []string{spec.ClusterIP}
		}
		return
	}
	// An old client patched something else and dropped clusterIPs on the way.
	if len(old.Spec.ClusterIPs) > 0 && len(spec.ClusterIPs) == 0 && old.Spec.ClusterIP == spec.ClusterIP {
		spec.ClusterIPs = old.Spec.ClusterIPs
	}
	if old.Spec.ClusterIP == spec.ClusterIP || !sameStrings(old.Spec.ClusterIPs, spec.ClusterIPs) {
		return
	}
	// Only the singular field changed: the plural follows it.
	if spec.ClusterIP == "" {
		spec.ClusterIPs = nil
	} else {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
}

// patchAllocatedValues copies server-allocated values the client did not send
// from old to svc, as long as both the old and new type use them.
func patchAllocatedValues(svc, old *corev1.Service) {
	if needsClusterIP(old) && needsClusterIP(svc) {
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = old.Spec.ClusterIP
		}
		if len(svc.Spec.ClusterIPs) == 0 && len(old.Spec.ClusterIPs) > 0 {
			svc.Spec.ClusterIPs = append([]string(nil), old.Spec.ClusterIPs...)
		}
	}
	if needsNodePorts(old) && needsNodePorts(svc) {
		byName := make(map[string]int32, len(old.Spec.Ports))
		for _, p := range old.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			if p := &svc.Spec.Ports[i]; p.NodePort == 0 {
				p.NodePort = byName[p.Name]
			}
		}
	}
	if NeedsHealthCheckNodePort(old) && NeedsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// adoptFamilyPolicy carries the old ipFamilyPolicy over when the client left it
// out, and honours an explicit SingleStack downgrade by dropping a secondary
// clusterIP or family the client did not change.
func adoptFamilyPolicy(svc, old *corev1.Service) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if svc.Spec.IPFamilyPolicy == nil && old.Spec.IPFamilyPolicy != nil {
		policy := *old.Spec.IPFamilyPolicy
		svc.Spec.IPFamilyPolicy = &policy
	}
	if policyOf(svc.Spec.IPFamilyPolicy) != corev1.IPFamilyPolicySingleStack {
		return
	}
	if len(svc.Spec.ClusterIPs) > 1 && sameStrings(svc.Spec.ClusterIPs, old.Spec.ClusterIPs) && svc.Spec.ClusterIP == old.Spec.ClusterIP {
		svc.Spec.ClusterIPs = svc.Spec.ClusterIPs[:1]
	}
	if len(svc.Spec.IPFamilies) > 1 && sameFamilies(svc.Spec.IPFamilies, old.Spec.IPFamilies) {
		svc.Spec.IPFamilies = svc.Spec.IPFamilies[:1]
	}
}
