package service

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxClientIPAffinitySeconds is the longest ClientIP session affinity timeout
// (one day), as in kube-apiserver's internal API.
const maxClientIPAffinitySeconds = 86400

// strictIPs mirrors kube-apiserver's StrictIPCIDRValidation feature gate (beta and
// on by default since 1.36): IPv4 octets with leading zeros, IPv4-mapped IPv6
// addresses and CIDRs with host bits set are refused in new values.
const strictIPs = true

// ValidateCreate validates a new Service completely, after Default and
// PrepareForCreate, with kube-apiserver's field paths, error types and messages.
func ValidateCreate(svc *corev1.Service) field.ErrorList {
	return validateService(svc, nil)
}

// ValidateUpdate validates an update of the main resource, after Default and
// PrepareForUpdate: the ObjectMeta update rules, the immutability of the primary
// cluster IP and family (relaxed to and from ExternalName), of loadBalancerClass
// while the Service stays a LoadBalancer and of a needed healthCheckNodePort, and
// then everything ValidateCreate checks. Invalid IPs and CIDRs already stored in
// old are tolerated where they still appear.
func ValidateUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateClusterIPImmutable(svc, old)...)
	errs = append(errs, validateClusterIPsUpdate(svc, old)...)
	errs = append(errs, validateIPFamiliesUpdate(svc, old)...)
	errs = append(errs, validateLoadBalancerClass(svc, old)...)
	if NeedsHealthCheckNodePort(old) && NeedsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return append(errs, validateService(svc, old)...)
}

// ValidateStatusUpdate validates an update through the status subresource: the
// ObjectMeta update rules and status.loadBalancer.
func ValidateStatusUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	return append(errs, validateLoadBalancerStatus(svc, old)...)
}

// validateService holds the checks shared by create and update. old is nil on
// create; on update it only lends stored IP and CIDR values that may stay.
func validateService(svc, old *corev1.Service) field.ErrorList {
	meta := field.NewPath("metadata")
	spec := field.NewPath("spec")
	errs := validateMeta(&svc.ObjectMeta)
	errs = append(errs, validateTopologyAnnotations(svc)...)

	if len(svc.Spec.Ports) == 0 && !clusterIPsHeadless(svc) && svc.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	errs = append(errs, validateTypeSpecifics(svc)...)
	errs = append(errs, validatePorts(svc)...)
	if svc.Spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(svc.Spec.Selector, spec.Child("selector"))...)
	}
	errs = append(errs, validateSessionAffinity(svc)...)
	errs = append(errs, validateClusterIPFields(svc, old)...)
	errs = append(errs, validateExternalIPs(svc, old)...)

	switch {
	case svc.Spec.Type == "":
		errs = append(errs, field.Required(spec.Child("type"), ""))
	case !slices.Contains(serviceTypes, svc.Spec.Type):
		errs = append(errs, field.NotSupported(spec.Child("type"), svc.Spec.Type, serviceTypes))
	}
	errs = append(errs, validatePortUniqueness(svc)...)
	errs = append(errs, validateSourceRanges(svc, old, meta)...)

	if svc.Spec.AllocateLoadBalancerNodePorts != nil && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(spec.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.AllocateLoadBalancerNodePorts == nil {
		// kube-apiserver reports this one without the "spec." prefix.
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	errs = append(errs, validateLoadBalancerClass(svc, nil)...)
	errs = append(errs, validateExternalTrafficPolicy(svc)...)
	errs = append(errs, validateInternalTrafficPolicy(svc)...)
	errs = append(errs, validateTrafficDistribution(svc)...)
	return errs
}

// serviceTypes and the other value lists are sorted, as kube-apiserver lists
// supported values in NotSupported errors.
var (
	serviceTypes = []corev1.ServiceType{
		corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName,
		corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort,
	}
	affinities              = []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}
	externalTrafficPolicies = []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}
	internalTrafficPolicies = []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}
	trafficDistributions    = []string{corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameNode, corev1.ServiceTrafficDistributionPreferSameZone}
	standardFinalizers      = []string{metav1.FinalizerDeleteDependents, "kubernetes", metav1.FinalizerOrphanDependents}
)

const finalizerNotQualifiedMsg = "name is neither a standard finalizer name nor is it fully qualified"

// validateMeta checks ObjectMeta on create: a namespaced object whose name is a
// DNS-1035 label, plus the core API's finalizer-name rule.
func validateMeta(meta *metav1.ObjectMeta) field.ErrorList {
	path := field.NewPath("metadata")
	errs := apimachineryvalidation.ValidateObjectMeta(meta, true, apimachineryvalidation.NameIsDNS1035Label, path)
	return append(errs, validateFinalizerNames(meta.Finalizers, path.Child("finalizers"))...)
}

func validateMetaUpdate(meta, old *metav1.ObjectMeta) field.ErrorList {
	path := field.NewPath("metadata")
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(meta, old, path)
	return append(errs, validateFinalizerNames(meta.Finalizers, path.Child("finalizers"))...)
}

// validateFinalizerNames refuses unqualified finalizer names other than the
// standard ones, as the core API group does.
func validateFinalizerNames(finalizers []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, name := range finalizers {
		if !strings.Contains(name, "/") && !slices.Contains(standardFinalizers, name) {
			errs = append(errs, field.Invalid(path.Index(i), name, finalizerNotQualifiedMsg))
		}
	}
	return errs
}

func validateTopologyAnnotations(svc *corev1.Service) field.ErrorList {
	hints, hintsSet := svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	mode, modeSet := svc.Annotations[corev1.AnnotationTopologyMode]
	if !hintsSet || !modeSet || hints == mode {
		return nil
	}
	return field.ErrorList{field.Invalid(
		field.NewPath("metadata", "annotations").Key(corev1.AnnotationTopologyMode), mode,
		fmt.Sprintf("must match annotations[%s] when both are specified", corev1.DeprecatedAnnotationTopologyAwareHints))}
}

// validateTypeSpecifics checks the rules tied to one type: NodePort and
// LoadBalancer Services cannot be headless; ExternalName needs a DNS name and no
// cluster IP fields.
func validateTypeSpecifics(svc *corev1.Service) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if clusterIPsHeadless(svc) {
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), svc.Spec.ClusterIPs[0],
				fmt.Sprintf("may not be set to 'None' for %s services", svc.Spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(svc.Spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(svc.Spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if svc.Spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(spec.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// A trailing dot marks the name as fully qualified.
		name := strings.TrimSuffix(svc.Spec.ExternalName, ".")
		if name == "" {
			errs = append(errs, field.Required(spec.Child("externalName"), ""))
			break
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			errs = append(errs, field.Invalid(spec.Child("externalName"), name, msg))
		}
	}
	return errs
}

func validateSessionAffinity(svc *corev1.Service) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	switch svc.Spec.SessionAffinity {
	case "":
		errs = append(errs, field.Required(spec.Child("sessionAffinity"), ""))
	case corev1.ServiceAffinityNone:
		if svc.Spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(spec.Child("sessionAffinityConfig"),
				fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	case corev1.ServiceAffinityClientIP:
		errs = append(errs, validateClientIPConfig(svc.Spec.SessionAffinityConfig, spec.Child("sessionAffinityConfig"))...)
	default:
		errs = append(errs, field.NotSupported(spec.Child("sessionAffinity"), svc.Spec.SessionAffinity, affinities))
	}
	return errs
}

func validateClientIPConfig(cfg *corev1.SessionAffinityConfig, path *field.Path) field.ErrorList {
	why := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
	switch {
	case cfg == nil:
		return field.ErrorList{field.Required(path, why)}
	case cfg.ClientIP == nil:
		return field.ErrorList{field.Required(path.Child("clientIP"), why)}
	case cfg.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(path.Child("clientIP", "timeoutSeconds"), why)}
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPAffinitySeconds {
		return field.ErrorList{field.Invalid(path.Child("clientIP", "timeoutSeconds"), t,
			fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds))}
	}
	return nil
}

// validateExternalIPs requires each external IP to parse and not to be a special
// address a node could not sensibly own.
func validateExternalIPs(svc, old *corev1.Service) field.ErrorList {
	var stored []string
	if old != nil {
		stored = old.Spec.ExternalIPs
	}
	path := field.NewPath("spec", "externalIPs")
	var errs field.ErrorList
	for i, ip := range svc.Spec.ExternalIPs {
		if ipErrs := validation.IsValidIPForLegacyField(path.Index(i), ip, strictIPs, stored); len(ipErrs) > 0 {
			errs = append(errs, ipErrs...)
			continue
		}
		errs = append(errs, validateNonSpecialIP(ip, path.Index(i))...)
	}
	return errs
}

// validateSourceRanges checks spec.loadBalancerSourceRanges or, when that is
// empty, the legacy annotation; both only make sense on LoadBalancers.
func validateSourceRanges(svc, old *corev1.Service, meta *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		// kube-apiserver spells this path with a capital L.
		path := field.NewPath("spec", "LoadBalancerSourceRanges")
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
		}
		var stored []string
		if old != nil {
			stored = old.Spec.LoadBalancerSourceRanges
		}
		for i, cidr := range svc.Spec.LoadBalancerSourceRanges {
			// Space padding is tolerated for historical reasons.
			errs = append(errs, validation.IsValidCIDRForLegacyField(path.Index(i), strings.TrimSpace(cidr), strictIPs, trimmed(stored))...)
		}
		return errs
	}
	value, ok := svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]
	if !ok {
		return nil
	}
	path := meta.Child("annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return errs
	}
	var stored []string
	if old != nil {
		stored = trimmed(strings.Split(old.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey], ","))
	}
	for _, cidr := range strings.Split(value, ",") {
		errs = append(errs, validation.IsValidCIDRForLegacyField(path, strings.TrimSpace(cidr), strictIPs, stored)...)
	}
	return errs
}

func trimmed(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

// validateLoadBalancerClass checks loadBalancerClass: only on LoadBalancers, a
// qualified name, and (on update, old non-nil) unchanged while the Service stays a
// LoadBalancer.
func validateLoadBalancerClass(svc, old *corev1.Service) field.ErrorList {
	path := field.NewPath("spec", "loadBalancerClass")
	isLB := svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	if old != nil {
		if isLB && old.Spec.Type == corev1.ServiceTypeLoadBalancer && !sameStringPtr(svc.Spec.LoadBalancerClass, old.Spec.LoadBalancerClass) {
			return field.ErrorList{field.Invalid(path, svc.Spec.LoadBalancerClass, "may not change once set")}
		}
		return nil
	}
	switch {
	case svc.Spec.LoadBalancerClass == nil:
		return nil
	case !isLB:
		return field.ErrorList{field.Forbidden(path, "may only be used when `type` is 'LoadBalancer'")}
	default:
		return validateQualifiedName(*svc.Spec.LoadBalancerClass, path)
	}
}

func validateExternalTrafficPolicy(svc *corev1.Service) field.ErrorList {
	spec := field.NewPath("spec")
	etp := svc.Spec.ExternalTrafficPolicy
	var errs field.ErrorList
	switch {
	case !IsExternallyAccessible(svc):
		if etp != "" {
			errs = append(errs, field.Invalid(spec.Child("externalTrafficPolicy"), etp, "may only be set for externally-accessible services"))
		}
	case etp == "":
		errs = append(errs, field.Required(spec.Child("externalTrafficPolicy"), ""))
	case !slices.Contains(externalTrafficPolicies, etp):
		errs = append(errs, field.NotSupported(spec.Child("externalTrafficPolicy"), etp, externalTrafficPolicies))
	}
	// A needed healthCheckNodePort that is still 0 is allocated later, so only a
	// given value is checked here.
	hc := svc.Spec.HealthCheckNodePort
	switch {
	case !NeedsHealthCheckNodePort(svc):
		if hc != 0 {
			errs = append(errs, field.Invalid(spec.Child("healthCheckNodePort"), hc,
				"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	case hc != 0:
		for _, msg := range validation.IsValidPortNum(int(hc)) {
			errs = append(errs, field.Invalid(spec.Child("healthCheckNodePort"), hc, msg))
		}
	}
	return errs
}

func validateInternalTrafficPolicy(svc *corev1.Service) field.ErrorList {
	path := field.NewPath("spec", "internalTrafficPolicy")
	itp := svc.Spec.InternalTrafficPolicy
	if itp == nil {
		// Other types may carry one: kube-apiserver never refused it there.
		switch svc.Spec.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			return field.ErrorList{field.Required(path, "")}
		}
		return nil
	}
	if !slices.Contains(internalTrafficPolicies, *itp) {
		return field.ErrorList{field.NotSupported(path, *itp, internalTrafficPolicies)}
	}
	return nil
}

func validateTrafficDistribution(svc *corev1.Service) field.ErrorList {
	td := svc.Spec.TrafficDistribution
	if td == nil || slices.Contains(trafficDistributions, *td) {
		return nil
	}
	return field.ErrorList{field.NotSupported(field.NewPath("spec", "trafficDistribution"), *td, trafficDistributions)}
}

func validateQualifiedName(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsLabelKey(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
