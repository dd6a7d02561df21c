package service

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

var (
	ipFamilies       = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	ipFamilyPolicies = []corev1.IPFamilyPolicy{corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack}
)

const (
	mayNotChangeMsg   = "may not change once set"
	fieldImmutableMsg = "field is immutable"
)

// validateClusterIPFields checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy together (ExternalName Services are checked by
// validateTypeSpecifics instead): clusterIP equals clusterIPs[0]; "None" only as
// the single value; at most two IPs, one per family, each matching ipFamilies[i];
// known, distinct families and a known policy; and a SingleStack policy (given or
// implied) with one IP and one family.
func validateClusterIPFields(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	spec := field.NewPath("spec")
	ipsPath := spec.Child("clusterIPs")
	ips := svc.Spec.ClusterIPs
	var errs field.ErrorList

	if svc.Spec.ClusterIP != "" {
		if len(ips) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if ips[0] != svc.Spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, ips, "first value must match `clusterIP`"))
		}
	} else if len(ips) != 0 {
		errs = append(errs, field.Invalid(ipsPath, ips, "must be empty when `clusterIP` is not specified"))
	}

	seen := make(map[corev1.IPFamily]bool, len(svc.Spec.IPFamilies))
	for i, fam := range svc.Spec.IPFamilies {
		if !slices.Contains(ipFamilies, fam) {
			errs = append(errs, field.NotSupported(spec.Child("ipFamilies").Index(i), fam, ipFamilies))
		}
		if seen[fam] {
			errs = append(errs, field.Duplicate(spec.Child("ipFamilies").Index(i), fam))
		}
		seen[fam] = true
	}
	if p := svc.Spec.IPFamilyPolicy; p != nil && !slices.Contains(ipFamilyPolicies, *p) {
		errs = append(errs, field.NotSupported(spec.Child("ipFamilyPolicy"), *p, ipFamilyPolicies))
	}

	var stored []string
	if old != nil {
		stored = old.Spec.ClusterIPs
	}
	badIPs := false
	for i, ip := range ips {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(ips) > 1 {
				badIPs = true
				errs = append(errs, field.Invalid(ipsPath, ips, "'None' must be the first and only value"))
			}
			continue
		}
		ipErrs := validation.IsValidIPForLegacyField(ipsPath.Index(i), ip, strictIPs, stored)
		badIPs = badIPs || len(ipErrs) > 0
		errs = append(errs, ipErrs...)
	}
	if len(ips) > 2 {
		errs = append(errs, field.Invalid(ipsPath, ips, "may only hold up to 2 values"))
	}
	// Family checks on IPs that did not parse would only add noise.
	if badIPs {
		return errs
	}
	if len(ips) > 1 {
		if dual, err := netutils.IsDualStackIPStrings(ips); err != nil {
			errs = append(errs, field.InternalError(ipsPath, fmt.Errorf("failed to check for dual stack with error:%w", err)))
		} else if !dual {
			errs = append(errs, field.Invalid(ipsPath, ips, "may specify no more than one IP for each IP family"))
		}
	}
	if !clusterIPsHeadless(svc) {
		for i, ip := range ips {
			if i >= len(svc.Spec.IPFamilies) {
				break
			}
			isV6 := netutils.IsIPv6String(ip)
			switch fam := svc.Spec.IPFamilies[i]; {
			case fam == corev1.IPv4Protocol && isV6:
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			case fam == corev1.IPv6Protocol && !isV6:
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return validateSingleStack(svc)
}

// validateSingleStack refuses two IPs or two families under a SingleStack policy,
// including the SingleStack that DefaultIPFamilies would fill in.
func validateSingleStack(svc *corev1.Service) field.ErrorList {
	policy := effectivePolicy(svc)
	if policy != corev1.IPFamilyPolicySingleStack {
		return nil
	}
	path := field.NewPath("spec", "ipFamilyPolicy")
	var errs field.ErrorList
	if len(svc.Spec.ClusterIPs) == 2 {
		errs = append(errs, field.Invalid(path, policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"))
	}
	if len(svc.Spec.IPFamilies) == 2 {
		errs = append(errs, field.Invalid(path, policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"))
	}
	return errs
}

// validateClusterIPImmutable reports a changed spec.clusterIP once one was set,
// outside transitions to or from ExternalName. kube-apiserver since 1.20 reports
// the same change only through clusterIPs (validateClusterIPsUpdate); this keeps
// the older, widely matched "field is immutable" error on spec.clusterIP as well.
func validateClusterIPImmutable(svc, old *corev1.Service) field.ErrorList {
	if !needsClusterIP(svc) || !needsClusterIP(old) || old.Spec.ClusterIP == "" || svc.Spec.ClusterIP == old.Spec.ClusterIP {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIP"), svc.Spec.ClusterIP, fieldImmutableMsg)}
}

// validateClusterIPsUpdate enforces that the primary cluster IP never changes and
// that a secondary one is only released under a SingleStack policy. Moving to or
// from ExternalName, and headless to headless, are exempt.
func validateClusterIPsUpdate(svc, old *corev1.Service) field.ErrorList {
	if !needsClusterIP(svc) || !needsClusterIP(old) || (clusterIPsHeadless(svc) && clusterIPsHeadless(old)) {
		return nil
	}
	path := field.NewPath("spec", "clusterIPs")
	newIPs, oldIPs := svc.Spec.ClusterIPs, old.Spec.ClusterIPs
	var errs field.ErrorList
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				errs = append(errs, field.Invalid(path.Index(i), newIPs, mayNotChangeMsg))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, "primary clusterIP can not be unset"))
		} else if newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, mayNotChangeMsg))
		}
		if len(newIPs) == 1 && policyOf(svc.Spec.IPFamilyPolicy) != corev1.IPFamilyPolicySingleStack {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy,
				"must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, mayNotChangeMsg))
		}
	}
	return errs
}

// validateIPFamiliesUpdate is validateClusterIPsUpdate for ipFamilies; headless
// Services may change families freely. Paths, values and messages follow
// kube-apiserver, including its habit of reporting every change at index 0.
func validateIPFamiliesUpdate(svc, old *corev1.Service) field.ErrorList {
	if !needsClusterIP(svc) || !needsClusterIP(old) || clusterIPsHeadless(svc) || clusterIPsHeadless(old) {
		return nil
	}
	path := field.NewPath("spec", "ipFamilies").Index(0)
	newFams, oldFams := svc.Spec.IPFamilies, old.Spec.IPFamilies
	var errs field.ErrorList
	switch {
	case len(oldFams) == len(newFams):
		for i := range oldFams {
			if oldFams[i] != newFams[i] {
				errs = append(errs, field.Invalid(path, newFams, mayNotChangeMsg))
			}
		}
	case len(oldFams) > len(newFams):
		if len(svc.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(path, newFams, "primary ipFamily can not be unset"))
		}
		if len(newFams) > 0 && newFams[0] != oldFams[0] {
			errs = append(errs, field.Invalid(path, svc.Spec.ClusterIPs, mayNotChangeMsg))
		}
		if len(newFams) == 1 && policyOf(svc.Spec.IPFamilyPolicy) != corev1.IPFamilyPolicySingleStack {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy,
				"must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldFams) > 0 && newFams[0] != oldFams[0] {
			errs = append(errs, field.Invalid(path, svc.Spec.ClusterIPs, mayNotChangeMsg))
		}
	}
	return errs
}

// validateNonSpecialIP refuses addresses that cannot sensibly be a Service's
// external IP or an endpoint: unspecified, loopback, link-local unicast and
// link-local multicast. Other multicast addresses are accepted, as in Kubernetes.
func validateNonSpecialIP(value string, path *field.Path) field.ErrorList {
	ip := netutils.ParseIPSloppy(value)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, value, fmt.Sprintf("may not be unspecified (%v)", value)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}
