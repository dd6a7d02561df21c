package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// protocols are the port protocols an Endpoints object may name.
var protocols = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}

// ValidateCreate validates a new Endpoints object: its metadata (name a DNS
// subdomain, namespace required) and every subset.
func ValidateCreate(ep *corev1.Endpoints) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&ep.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, validateSubsets(ep.Subsets, field.NewPath("subsets"))...)
}

// ValidateUpdate validates an update: the metadata update rules, then the new
// object as on create. Addresses may move between nodes, so nodeName may change.
func ValidateUpdate(ep, old *corev1.Endpoints) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ep.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, ValidateCreate(ep)...)
}

func validateSubsets(subsets []corev1.EndpointSubset, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range subsets {
		ss := &subsets[i]
		idxPath := fldPath.Index(i)
		// A subset may lack ports (headless services) but never addresses.
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(idxPath, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateAddress(&ss.Addresses[j], idxPath.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateAddress(&ss.NotReadyAddresses[j], idxPath.Child("notReadyAddresses").Index(j))...)
		}
		names := sets.New[string]()
		for j := range ss.Ports {
			portPath := idxPath.Child("ports").Index(j)
			errs = append(errs, validatePort(&ss.Ports[j], len(ss.Ports) > 1, portPath)...)
			if name := ss.Ports[j].Name; name != "" {
				if names.Has(name) {
					errs = append(errs, field.Duplicate(portPath.Child("name"), name))
				}
				names.Insert(name)
			}
		}
	}
	return errs
}

func validateAddress(addr *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	ipPath := fldPath.Child("ip")
	errs := validation.IsValidIPForLegacyField(ipPath, addr.IP, strictIPs, nil)
	if addr.Hostname != "" {
		errs = append(errs, validateDNSLabel(addr.Hostname, fldPath.Child("hostname"))...)
	}
	if addr.NodeName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*addr.NodeName, false) {
			errs = append(errs, field.Invalid(fldPath.Child("nodeName"), *addr.NodeName, msg))
		}
	}
	return append(errs, ValidateNonSpecialIP(addr.IP, ipPath)...)
}

func validatePort(port *corev1.EndpointPort, requireName bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case port.Name == "" && requireName:
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	case port.Name != "":
		errs = append(errs, validateDNSLabel(port.Name, fldPath.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), port.Port, msg))
	}
	errs = append(errs, validateProtocol(port.Protocol, fldPath.Child("protocol"))...)
	if port.AppProtocol != nil {
		for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
			errs = append(errs, field.Invalid(fldPath.Child("appProtocol"), *port.AppProtocol, msg))
		}
	}
	return errs
}

func validateProtocol(p corev1.Protocol, fldPath *field.Path) field.ErrorList {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return field.ErrorList{field.NotSupported(fldPath, p, protocols)}
}

func validateDNSLabel(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}
