package node

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// strictIPs mirrors kube-apiserver's StrictIPCIDRValidation feature gate (on by
// default): new values may not use IPv4 octets with leading zeros or
// IPv4-mapped IPv6 addresses, nor CIDRs with host bits set.
const strictIPs = true

var taintEffects = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}

// changeOnce is the message for fields a controller may set once.
const changeOnce = "node updates may not change %s except from \"\" to valid"

// ValidateCreate validates a new Node: metadata (name a DNS subdomain, no
// namespace), taints, resource quantities and spec.podCIDRs.
func ValidateCreate(n *corev1.Node) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMeta(&n.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, metaPath)
	// kube-apiserver reports taints under metadata; clients see this path.
	errs = append(errs, validateTaints(n.Spec.Taints, metaPath.Child("taints"))...)
	errs = append(errs, validateResources(n)...)
	return append(errs, validatePodCIDRs(n.Spec.PodCIDRs, field.NewPath("spec", "podCIDRs"))...)
}

// ValidateUpdate validates a main-resource update: the new Node as on create
// plus the update rules.
func ValidateUpdate(n, old *corev1.Node) field.ErrorList {
	return append(ValidateCreate(n), validateUpdateRules(n, old)...)
}

// ValidateStatusUpdate validates a status update: the update rules plus valid
// taints and resource quantities.
func ValidateStatusUpdate(n, old *corev1.Node) field.ErrorList {
	errs := validateUpdateRules(n, old)
	errs = append(errs, validateTaints(n.Spec.Taints, field.NewPath("metadata", "taints"))...)
	return append(errs, validateResources(n)...)
}

// validateUpdateRules checks what any Node update must respect: metadata update
// rules, unique status addresses, podCIDRs and providerID set at most once, and
// an unchanged externalID.
func validateUpdateRules(n, old *corev1.Node) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range n.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	if len(old.Spec.PodCIDRs) > 0 && !slices.Equal(old.Spec.PodCIDRs, n.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), fmt.Sprintf(changeOnce, "podCIDR")))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), fmt.Sprintf(changeOnce, "providerID")))
	}
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

// validatePodCIDRs requires valid CIDRs, at most one per IP family.
func validatePodCIDRs(cidrs []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range cidrs {
		errs = append(errs, validation.IsValidCIDRForLegacyField(fldPath.Index(i), c, strictIPs, nil)...)
	}
	if len(cidrs) < 2 || len(errs) > 0 {
		return errs
	}
	if dual, err := netutils.IsDualStackCIDRStrings(cidrs); err != nil || !dual || len(cidrs) > 2 {
		errs = append(errs, field.Invalid(fldPath, cidrs, "may specify no more than one CIDR for each IP family"))
	}
	seen := sets.New[string]()
	for i, c := range cidrs {
		if seen.Has(c) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), c))
		}
		seen.Insert(c)
	}
	return errs
}

// validateTaints checks keys, values and effects, and that no two taints share
// a key and effect.
func validateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	type keyEffect struct {
		key    string
		effect corev1.TaintEffect
	}
	seen := map[keyEffect]bool{}
	for i, taint := range taints {
		idxPath := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(taint.Key, idxPath.Child("key"))...)
		for _, msg := range validation.IsValidLabelValue(taint.Value) {
			errs = append(errs, field.Invalid(idxPath.Child("value"), taint.Value, msg))
		}
		switch {
		case taint.Effect == "":
			errs = append(errs, field.Required(idxPath.Child("effect"), ""))
		case !slices.Contains(taintEffects, taint.Effect):
			errs = append(errs, field.NotSupported(idxPath.Child("effect"), taint.Effect, taintEffects))
		}
		k := keyEffect{taint.Key, taint.Effect}
		if seen[k] {
			dup := field.Duplicate(idxPath, taint)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		seen[k] = true
	}
	return errs
}

// validateResources rejects negative capacity and allocatable quantities.
func validateResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		res  corev1.ResourceList
	}{{"capacity", n.Status.Capacity}, {"allocatable", n.Status.Allocatable}} {
		for _, name := range sortedNames(list.res) {
			q := list.res[name]
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(field.NewPath("status", list.name, string(name)), q.String(), apivalidation.IsNegativeErrorMsg))
			}
		}
	}
	return errs
}

func sortedNames(res corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(res))
	for name := range res {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
