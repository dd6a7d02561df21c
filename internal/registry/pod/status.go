package pod

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

var phases = []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown}

// systemConditions are the condition types Kubernetes itself defines; any
// other type must be a qualified name.
var systemConditions = []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized}

// ValidateStatusUpdate validates a status update: metadata update rules,
// condition types, a known phase, an unchanged node and QoS class, a valid
// nominated node, no terminated container coming back to life unless the pod
// restarts containers, and consistent pod and host IPs (at most one per
// family, the first equal to podIP or hostIP).
func ValidateStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	metaPath := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, metaPath)
	for i, c := range pod.Status.Conditions {
		if !slices.Contains(systemConditions, c.Type) {
			// kube-apiserver reports these under metadata, with a capital T.
			errs = append(errs, validateQualifiedName(string(c.Type), metaPath.Child("conditions").Index(i).Child("Type"))...)
		}
	}
	statusPath := field.NewPath("status")
	if pod.Status.Phase != "" {
		errs = append(errs, validateEnum(pod.Status.Phase, phases, statusPath.Child("phase"))...)
	}
	if pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, validateName(n, statusPath.Child("nominatedNodeName"))...)
	}
	errs = append(errs, apivalidation.ValidateImmutableField(pod.Status.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	errs = append(errs, validateRestarts(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, old.Spec.RestartPolicy, statusPath.Child("containerStatuses"))...)
	errs = append(errs, validatePodIPs(&pod.Status, statusPath.Child("podIPs"))...)
	return append(errs, validateHostIPs(&pod.Status, statusPath.Child("hostIPs"))...)
}

// validateRestarts forbids a terminated container from leaving that state when
// the restart policy says it stays there: always under Never, and after a
// clean exit under OnFailure.
func validateRestarts(statuses, old []corev1.ContainerStatus, policy corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range old {
		term := o.State.Terminated
		if term == nil || (term.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure) {
			continue
		}
		for _, s := range statuses {
			if s.Name == o.Name && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

func validatePodIPs(st *corev1.PodStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(st.PodIPs) > 0 && st.PodIP != st.PodIPs[0].IP {
		errs = append(errs, field.Invalid(fldPath.Index(0).Child("ip"), st.PodIPs[0].IP, "must be equal to `podIP`"))
	}
	ips := make([]string, len(st.PodIPs))
	for i, ip := range st.PodIPs {
		// kube-apiserver names the list entry, without ".ip".
		errs = append(errs, validation.IsValidIPForLegacyField(fldPath.Index(i), ip.IP, strictIPs, nil)...)
		ips[i] = ip.IP
	}
	return append(errs, validateIPFamilies(ips, st.PodIPs, fldPath)...)
}

func validateHostIPs(st *corev1.PodStatus, fldPath *field.Path) field.ErrorList {
	if len(st.HostIPs) == 0 {
		return nil
	}
	var errs field.ErrorList
	if st.HostIP != st.HostIPs[0].IP {
		errs = append(errs, field.Invalid(fldPath.Index(0).Child("ip"), st.HostIPs[0].IP, "must be equal to `hostIP`"))
	}
	ips := make([]string, len(st.HostIPs))
	for i, ip := range st.HostIPs {
		errs = append(errs, validation.IsValidIPForLegacyField(fldPath.Index(i), ip.IP, strictIPs, nil)...)
		ips[i] = ip.IP
	}
	return append(errs, validateIPFamilies(ips, st.HostIPs, fldPath)...)
}

// validateIPFamilies allows one address per IP family and no repeats. list is
// the field's value, reported as is.
func validateIPFamilies[T any](ips []string, list []T, fldPath *field.Path) field.ErrorList {
	if len(ips) < 2 {
		return nil
	}
	var errs field.ErrorList
	if dual, err := netutils.IsDualStackIPStrings(ips); err == nil && (!dual || len(ips) > 2) {
		errs = append(errs, field.Invalid(fldPath, list, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), list[i]))
		}
		seen.Insert(ip)
	}
	return errs
}
