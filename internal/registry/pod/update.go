package pod

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// mutableSpecFields names, in kube-apiserver's words, what a pod update may
// change; the list is part of the message users see.
var mutableSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// ValidateUpdate validates a main-resource update. Besides the metadata
// update rules and the new pod's own validity, the spec is immutable except
// for container images, a shrinking activeDeadlineSeconds, added tolerations
// (existing ones may only change tolerationSeconds), removed scheduling gates,
// and a negative grace period raised to 1. Any other change is reported with a
// diff of the spec.
func ValidateUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validatePod(pod)...)
	specPath := field.NewPath("spec")
	if len(pod.Spec.Containers) != len(old.Spec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	deadlineErrs := validateDeadlineUpdate(pod.Spec.ActiveDeadlineSeconds, old.Spec.ActiveDeadlineSeconds, specPath.Child("activeDeadlineSeconds"))
	errs = append(errs, deadlineErrs...)
	if len(deadlineErrs) > 0 && pod.Spec.ActiveDeadlineSeconds != nil {
		return errs
	}
	errs = append(errs, validateTolerationsUpdate(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateGatesUpdate(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if equality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged := withMutableFieldsOf(&pod.Spec, &old.Spec)
	if !equality.Semantic.DeepEqual(*munged, old.Spec) {
		msg := fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(mutableSpecFields, ","), cmp.Diff(old.Spec, *munged))
		errs = append(errs, field.Forbidden(specPath, msg))
	}
	return errs
}

// withMutableFieldsOf returns a copy of spec whose updatable fields hold old's
// values, so that any remaining difference is a forbidden change.
func withMutableFieldsOf(spec, old *corev1.PodSpec) *corev1.PodSpec {
	m := spec.DeepCopy()
	for i := range m.Containers {
		m.Containers[i].Image = old.Containers[i].Image
	}
	for i := range m.InitContainers {
		m.InitContainers[i].Image = old.InitContainers[i].Image
	}
	m.ActiveDeadlineSeconds = old.ActiveDeadlineSeconds
	m.Tolerations = old.Tolerations
	m.SchedulingGates = old.SchedulingGates
	if g, og := m.TerminationGracePeriodSeconds, old.TerminationGracePeriodSeconds; og != nil && *og < 0 && g != nil && *g == 1 {
		m.TerminationGracePeriodSeconds = og
	}
	return m
}

// validateDeadlineUpdate allows setting a deadline and lowering it, never
// raising or removing it.
func validateDeadlineUpdate(deadline, old *int64, fldPath *field.Path) field.ErrorList {
	switch {
	case deadline == nil && old != nil:
		return field.ErrorList{field.Invalid(fldPath, deadline, "must not update from a positive integer to nil value")}
	case deadline == nil:
		return nil
	case *deadline < 0 || *deadline > math.MaxInt32:
		return field.ErrorList{field.Invalid(fldPath, *deadline, validation.InclusiveRangeError(0, math.MaxInt32))}
	case old != nil && *old < *deadline:
		return field.ErrorList{field.Invalid(fldPath, *deadline, "must be less than or equal to previous value")}
	}
	return nil
}

// validateTolerationsUpdate requires every old toleration to survive, with at
// most its tolerationSeconds changed.
func validateTolerationsUpdate(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		kept := false
		for _, t := range tolerations {
			o.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(o, t) {
				kept = true
				break
			}
		}
		if !kept {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// validateGatesUpdate allows scheduling gates to be removed, never added.
func validateGatesUpdate(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, g := range gates {
		existed := false
		for _, o := range old {
			existed = existed || o.Name == g.Name
		}
		if !existed {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}
