package service

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// DefaultIPFamilies fills spec.ipFamilyPolicy and spec.ipFamilies of svc the way
// kube-apiserver does at allocation time on a single-stack cluster whose service
// CIDR has family primary. ExternalName Services are left alone.
//
//  1. A missing policy becomes SingleStack, except for a headless Service without
//     a selector, which becomes RequireDualStack (its endpoints may be of either
//     family). On update, PrepareForUpdate has already carried the old policy over.
//  2. Families missing for given clusterIPs are inferred from those IPs.
//  3. A headless Service without a selector gets [primary] when it has no families,
//     plus the other family unless its policy is SingleStack.
//  4. Any other Service without families gets [primary].
//
// It does not check the result against the cluster; call ValidateClusterFamilies
// first. It is idempotent.
func DefaultIPFamilies(svc *corev1.Service, primary corev1.IPFamily) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if svc.Spec.IPFamilyPolicy == nil {
		policy := effectivePolicy(svc)
		svc.Spec.IPFamilyPolicy = &policy
	}
	for i, ip := range svc.Spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			break
		}
		if i >= len(svc.Spec.IPFamilies) {
			svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, familyOf(ip))
		}
	}
	if headlessWithoutSelector(svc) {
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = []corev1.IPFamily{primary}
		}
		if len(svc.Spec.IPFamilies) == 1 && *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack {
			svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, otherFamily(svc.Spec.IPFamilies[0]))
		}
		return
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = []corev1.IPFamily{primary}
	}
}

// ValidateClusterFamilies checks what only the cluster configuration can decide, for
// a single-stack cluster of family primary, with kube-apiserver's paths and messages:
// dual-stack cannot be required, and given clusterIPs and ipFamilies must be of the
// cluster's family. Headless Services without a selector may name any family.
// ExternalName Services are not checked.
func ValidateClusterFamilies(svc *corev1.Service, primary corev1.IPFamily) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || headlessWithoutSelector(svc) {
		return nil
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	for i, ip := range svc.Spec.ClusterIPs {
		if ip == corev1.ClusterIPNone || ip == "" {
			break
		}
		if i >= len(svc.Spec.IPFamilies) && familyOf(ip) != primary {
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(i), svc.Spec.ClusterIPs,
				fmt.Sprintf("%s is not configured on this cluster", familyOf(ip))))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if policy := effectivePolicy(svc); policy == corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.Invalid(spec.Child("ipFamilyPolicy"), policy,
			"this cluster is not configured for dual-stack services"))
	}
	for i, fam := range svc.Spec.IPFamilies {
		if fam != primary {
			errs = append(errs, field.Invalid(spec.Child("ipFamilies").Index(i), fam, "not configured on this cluster"))
		}
	}
	return errs
}

// effectivePolicy is the ipFamilyPolicy svc has or will be given by
// DefaultIPFamilies.
func effectivePolicy(svc *corev1.Service) corev1.IPFamilyPolicy {
	switch {
	case svc.Spec.IPFamilyPolicy != nil:
		return *svc.Spec.IPFamilyPolicy
	case headlessWithoutSelector(svc):
		return corev1.IPFamilyPolicyRequireDualStack
	default:
		return corev1.IPFamilyPolicySingleStack
	}
}

func familyOf(ip string) corev1.IPFamily {
	if netutils.IsIPv6String(ip) {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

func otherFamily(f corev1.IPFamily) corev1.IPFamily {
	if f == corev1.IPv4Protocol {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}
