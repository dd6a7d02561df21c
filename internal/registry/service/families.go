package service

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// DefaultIPFamilies fills spec.ipFamilyPolicy and spec.ipFamilies of svc the way
// kube-apiserver does at allocation time. cluster lists the IP families of the
// service CIDRs, primary first: one for a single-stack cluster, two for a
// dual-stack one. old is the stored Service on update, nil on create.
// ExternalName Services are left alone.
//
//  0. An update of a PreferDualStack Service that changes neither its policy, its
//     clusterIPs nor its families keeps them, even if the cluster gained or lost a
//     family since: a Service changes stacks only when asked to.
//  1. A missing policy becomes SingleStack, except for a headless Service without
//     a selector, which becomes RequireDualStack (its endpoints may be of either
//     family). On update, PrepareForUpdate has already carried the old policy over.
//  2. Families missing for given clusterIPs are inferred from those IPs. A
//     clusterIP of a family the cluster lacks stops the defaulting there, so that
//     ValidateClusterFamilies reports that IP and nothing else.
//  3. A headless Service without a selector gets [primary] when it has no families,
//     plus the other family unless its policy is SingleStack, whatever the cluster.
//  4. Any other Service without families gets [primary]; on a dual-stack cluster,
//     one whose policy is PreferDualStack or RequireDualStack also gets the other.
//
// It does not check the result against the cluster; ValidateClusterFamilies does.
// It is idempotent.
func DefaultIPFamilies(svc, old *corev1.Service, cluster []corev1.IPFamily) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || preferDualStackUnchanged(svc, old) {
		return
	}
	if svc.Spec.IPFamilyPolicy == nil {
		policy := effectivePolicy(svc)
		svc.Spec.IPFamilyPolicy = &policy
	}
	if len(ValidateFamilyRelease(svc, old)) > 0 {
		return // a refused release: inferring would put the dropped family back
	}
	for i, ip := range svc.Spec.ClusterIPs {
		if ip == corev1.ClusterIPNone || ip == "" {
			break
		}
		if i < len(svc.Spec.IPFamilies) {
			continue
		}
		fam := familyOf(ip)
		if !slices.Contains(cluster, fam) {
			return // left for ValidateClusterFamilies to refuse
		}
		svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, fam)
	}
	dual := *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack
	if headlessWithoutSelector(svc) {
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = []corev1.IPFamily{cluster[0]}
		}
		if len(svc.Spec.IPFamilies) == 1 && dual {
			svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, otherFamily(svc.Spec.IPFamilies[0]))
		}
		return
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = []corev1.IPFamily{cluster[0]}
	}
	if len(svc.Spec.IPFamilies) == 1 && dual && len(cluster) == 2 && slices.Contains(cluster, svc.Spec.IPFamilies[0]) {
		svc.Spec.IPFamilies = append(svc.Spec.IPFamilies, otherFamily(svc.Spec.IPFamilies[0]))
	}
}

// ValidateClusterFamilies checks what only the cluster configuration can decide,
// with kube-apiserver's paths and messages: dual-stack can be required only on a
// dual-stack cluster, and given clusterIPs and ipFamilies must be of the cluster's
// families (cluster as for DefaultIPFamilies; old nil on create). Headless Services
// without a selector may name any family, and an update that leaves a
// PreferDualStack Service's addressing as it was is not checked either.
// ExternalName Services are not checked.
func ValidateClusterFamilies(svc, old *corev1.Service, cluster []corev1.IPFamily) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || headlessWithoutSelector(svc) || preferDualStackUnchanged(svc, old) {
		return nil
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	for i, ip := range svc.Spec.ClusterIPs {
		if ip == corev1.ClusterIPNone || ip == "" {
			break
		}
		if fam := familyOf(ip); !slices.Contains(cluster, fam) {
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(i), svc.Spec.ClusterIPs,
				fmt.Sprintf("%s is not configured on this cluster", fam)))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if policy := effectivePolicy(svc); policy == corev1.IPFamilyPolicyRequireDualStack && len(cluster) < 2 {
		errs = append(errs, field.Invalid(spec.Child("ipFamilyPolicy"), policy,
			"this cluster is not configured for dual-stack services"))
	}
	for i, fam := range svc.Spec.IPFamilies {
		if !slices.Contains(cluster, fam) {
			errs = append(errs, field.Invalid(spec.Child("ipFamilies").Index(i), fam, "not configured on this cluster"))
		}
	}
	return errs
}

// ValidateFamilyRelease refuses an update that drops a Service's secondary
// cluster IP or IP family under a policy other than SingleStack, with
// kube-apiserver's messages. kube-apiserver checks this when it allocates, before
// validating, and reports nothing else when it fails; so should callers (old is
// the stored Service; nil, as on create, checks nothing).
func ValidateFamilyRelease(svc, old *corev1.Service) field.ErrorList {
	if old == nil || svc.Spec.Type == corev1.ServiceTypeExternalName || effectivePolicy(svc) == corev1.IPFamilyPolicySingleStack {
		return nil
	}
	path := field.NewPath("spec", "ipFamilyPolicy")
	var errs field.ErrorList
	if n := len(svc.Spec.ClusterIPs); n > 0 && n < len(old.Spec.ClusterIPs) {
		errs = append(errs, field.Invalid(path, svc.Spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary cluster IP"))
	}
	if n := len(svc.Spec.IPFamilies); n > 0 && n < len(old.Spec.IPFamilies) {
		errs = append(errs, field.Invalid(path, svc.Spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary IP family"))
	}
	return errs
}

// preferDualStackUnchanged reports whether an update keeps a PreferDualStack
// Service of a type with cluster IPs as it was: same type, policy, clusterIPs and
// families. kube-apiserver neither upgrades nor downgrades such a Service when
// the cluster's families change.
func preferDualStackUnchanged(svc, old *corev1.Service) bool {
	if old == nil || svc.Spec.IPFamilyPolicy == nil || svc.Spec.Type != old.Spec.Type {
		return false
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return false
	}
	prefer := corev1.IPFamilyPolicyPreferDualStack
	if *svc.Spec.IPFamilyPolicy != prefer || (old.Spec.IPFamilyPolicy != nil && *old.Spec.IPFamilyPolicy != prefer) {
		return false
	}
	return sameStrings(svc.Spec.ClusterIPs, old.Spec.ClusterIPs) && sameFamilies(svc.Spec.IPFamilies, old.Spec.IPFamilies)
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
