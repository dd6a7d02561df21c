package event

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits for new-style events, in bytes.
const (
	maxReportingInstance = 128
	maxAction            = 128
	maxReason            = 128
	maxMessage           = 1024
)

// ValidateCreate validates a new Event: the core/v1 event rules, the type,
// and the metadata checks every object gets (the name only has to be usable as
// a URL path segment, since recorders append a suffix to object names).
func ValidateCreate(ev *corev1.Event) field.ErrorList {
	errs := validateEvent(ev)
	errs = append(errs, validateType(ev.Type)...)
	return append(errs, apivalidation.ValidateObjectMeta(&ev.ObjectMeta, true, path.ValidatePathSegmentName, field.NewPath("metadata"))...)
}

// ValidateUpdate validates an update: the new Event as on create plus the
// metadata update rules. Through core/v1 every event field may change.
func ValidateUpdate(ev, old *corev1.Event) field.ErrorList {
	errs := ValidateCreate(ev)
	return append(errs, apivalidation.ValidateObjectMetaUpdate(&ev.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
}

// validateEvent applies the rules kube-apiserver keeps for core/v1 Events.
// Old-style events (no eventTime) only need a namespace consistent with the
// involved object; new-style ones must also say who reported what.
func validateEvent(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	involvedNS := field.NewPath("involvedObject", "namespace")
	mismatch := field.Invalid(involvedNS, ev.InvolvedObject.Namespace, "does not match event.namespace")
	if ev.EventTime.IsZero() {
		switch {
		case ev.InvolvedObject.Namespace == "":
			// A cluster-scoped object: old clients record its events in "default".
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, mismatch)
			}
		case ev.Namespace != ev.InvolvedObject.Namespace:
			errs = append(errs, mismatch)
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, mismatch)
		}
		// core/v1 names reportingController "reportingComponent" on the wire.
		reporter := field.NewPath("reportingComponent")
		if ev.ReportingController == "" {
			errs = append(errs, field.Required(reporter, ""))
		}
		for _, msg := range validation.IsQualifiedName(ev.ReportingController) {
			errs = append(errs, field.Invalid(reporter, ev.ReportingController, msg))
		}
		errs = append(errs, requiredWithLimit(ev.ReportingInstance, maxReportingInstance, field.NewPath("reportingInstance"))...)
		errs = append(errs, requiredWithLimit(ev.Action, maxAction, field.NewPath("action"))...)
		errs = append(errs, requiredWithLimit(ev.Reason, maxReason, field.NewPath("reason"))...)
		if len(ev.Message) > maxMessage {
			errs = append(errs, tooLong(field.NewPath("message"), maxMessage))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(ev.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ev.Namespace, msg))
	}
	return errs
}

func requiredWithLimit(value string, limit int, fldPath *field.Path) field.ErrorList {
	switch {
	case value == "":
		return field.ErrorList{field.Required(fldPath, "")}
	case len(value) > limit:
		return field.ErrorList{tooLong(fldPath, limit)}
	}
	return nil
}

// tooLong reports an over-long field without echoing its (long) value.
func tooLong(fldPath *field.Path, limit int) *field.Error {
	return field.Invalid(fldPath, "", fmt.Sprintf("can have at most %v characters", limit))
}

// validateType accepts an empty type, as old recorders send, and otherwise
// only Normal and Warning.
func validateType(t string) field.ErrorList {
	switch t {
	case "", corev1.EventTypeNormal, corev1.EventTypeWarning:
		return nil
	}
	return field.ErrorList{field.NotSupported(field.NewPath("type"), t, []string{corev1.EventTypeNormal, corev1.EventTypeWarning})}
}
