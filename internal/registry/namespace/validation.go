package namespace

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCreate validates a new namespace: metadata (name a DNS-1123 label,
// no namespace), the kubernetes.io/metadata.name label and spec.finalizers.
func ValidateCreate(ns *corev1.Namespace) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMeta(&ns.ObjectMeta, false, apivalidation.ValidateNamespaceName, metaPath)
	errs = append(errs, validateNameLabel(ns, metaPath.Child("labels").Key(corev1.LabelMetadataName))...)
	// As in kube-apiserver, these errors name the list, not the entry.
	for _, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizer(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

// ValidateUpdate validates a main-resource or finalize update: the new object
// as on create plus the metadata update rules.
func ValidateUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := ValidateCreate(ns)
	return append(errs, apivalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
}

// ValidateFinalizeUpdate validates a write through the finalize subresource:
// the metadata update rules and spec.finalizers, whose errors here, unlike on
// create and update, name the entry (as kube-apiserver's do).
func ValidateFinalizeUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizer(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}

// ValidateStatusUpdate validates a status update: the phase must be Active
// until deletion is requested and Terminating after.
func ValidateStatusUpdate(ns, old *corev1.Namespace) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ns.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	// kube-apiserver spells this path with a capital P.
	phasePath := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(phasePath, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(phasePath, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}

// validateNameLabel requires the kubernetes.io/metadata.name label to hold the
// name. Default sets it, so only objects that skipped defaulting fail here.
func validateNameLabel(ns *corev1.Namespace, fldPath *field.Path) field.ErrorList {
	if ns.Name == "" {
		return nil // the missing name is already reported
	}
	want := fmt.Sprintf("must be '%s'", ns.Name)
	v, ok := ns.Labels[corev1.LabelMetadataName]
	switch {
	case !ok:
		return field.ErrorList{field.Required(fldPath, want)}
	case v != ns.Name:
		return field.ErrorList{field.Invalid(fldPath, v, want)}
	}
	return nil
}

// validateFinalizer accepts a qualified name; one without a domain prefix must
// be a finalizer Kubernetes defines, and the only such one is "kubernetes".
func validateFinalizer(name string, fldPath *field.Path) field.ErrorList {
	errs := apivalidation.ValidateFinalizerName(name, fldPath)
	if !strings.Contains(name, "/") && name != string(corev1.FinalizerKubernetes) {
		errs = append(errs, field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}
