package endpointslice

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/svcnet/svcnet/internal/registry/endpoints"
)

// strictIPs mirrors kube-apiserver's StrictIPCIDRValidation feature gate (on by
// default): new values may not use IPv4 octets with leading zeros or
// IPv4-mapped IPv6 addresses. Non-canonical IPv6 spellings stay accepted, as
// in these long-standing fields kube-apiserver only warns about them.
const strictIPs = true

// Limits on the size of one slice, as the API documents them.
const (
	maxEndpoints = 1000
	maxAddresses = 100
	maxPorts     = 100
	maxHints     = 8
	maxPort      = 65535
)

var (
	addressTypes = []string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}
	protocols    = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}
)

// ValidateCreate validates a new EndpointSlice: metadata (name a DNS
// subdomain, namespace required), addressType, endpoints and ports.
func ValidateCreate(s *discoveryv1.EndpointSlice) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&s.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateAddressType(s.AddressType)...)
	errs = append(errs, validateEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validatePorts(s.Ports, field.NewPath("ports"))...)
}

// ValidateUpdate validates an update: the metadata update rules, the new slice
// as on create, and that addressType did not change.
func ValidateUpdate(s, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, ValidateCreate(s)...)
	return append(errs, apivalidation.ValidateImmutableField(s.AddressType, old.AddressType, field.NewPath("addressType"))...)
}

func validateAddressType(t discoveryv1.AddressType) field.ErrorList {
	fldPath := field.NewPath("addressType")
	switch t {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return field.ErrorList{field.NotSupported(fldPath, t, addressTypes)}
}

func validateEndpoints(eps []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(eps) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(eps), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range eps {
		ep := &eps[i]
		idxPath := fldPath.Index(i)
		addrPath := idxPath.Child("addresses")
		switch n := len(ep.Addresses); {
		case n == 0:
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		case n > maxAddresses:
			errs = append(errs, field.TooMany(addrPath, n, maxAddresses))
		}
		for j, a := range ep.Addresses {
			errs = append(errs, validateAddress(a, addrType, addrPath.Index(j))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, validateNodeName(*ep.NodeName, idxPath.Child("nodeName"))...)
		}
		if ep.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*ep.Hostname) {
				errs = append(errs, field.Invalid(idxPath.Child("hostname"), *ep.Hostname, msg))
			}
		}
		if ep.Hints != nil {
			errs = append(errs, validateHints(ep.Hints, idxPath.Child("hints"))...)
		}
	}
	return errs
}

// validateAddress checks one address against the slice's type. Addresses of an
// unknown type are not checked: the type itself is already reported.
func validateAddress(addr string, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	switch addrType {
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(fldPath, addr)
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
	default:
		return nil
	}
	if errs := validation.IsValidIPForLegacyField(fldPath, addr, strictIPs, nil); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	if addrType == discoveryv1.AddressTypeIPv4 && !netutils.IsIPv4String(addr) {
		errs = append(errs, field.Invalid(fldPath, addr, "must be an IPv4 address"))
	}
	if addrType == discoveryv1.AddressTypeIPv6 && !netutils.IsIPv6String(addr) {
		errs = append(errs, field.Invalid(fldPath, addr, "must be an IPv6 address"))
	}
	return append(errs, endpoints.ValidateNonSpecialIP(addr, fldPath)...)
}

func validateNodeName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apivalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

func validateHints(h *discoveryv1.EndpointHints, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	zonesPath := fldPath.Child("forZones")
	if len(h.ForZones) > maxHints {
		errs = append(errs, field.TooMany(zonesPath, len(h.ForZones), maxHints))
	} else {
		seen := sets.New[string]()
		for i, z := range h.ForZones {
			namePath := zonesPath.Index(i).Child("name")
			if seen.Has(z.Name) {
				errs = append(errs, field.Duplicate(namePath, z.Name))
			}
			seen.Insert(z.Name)
			for _, msg := range validation.IsValidLabelValue(z.Name) {
				errs = append(errs, field.Invalid(namePath, z.Name, msg))
			}
		}
	}
	nodesPath := fldPath.Child("forNodes")
	if len(h.ForNodes) > maxHints {
		return append(errs, field.TooMany(nodesPath, len(h.ForNodes), maxHints))
	}
	seen := sets.New[string]()
	for i, n := range h.ForNodes {
		namePath := nodesPath.Index(i).Child("name")
		if seen.Has(n.Name) {
			errs = append(errs, field.Duplicate(namePath, n.Name))
		}
		seen.Insert(n.Name)
		errs = append(errs, validateNodeName(n.Name, namePath)...)
	}
	return errs
}

func validatePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range ports {
		p := &ports[i]
		idxPath := fldPath.Index(i)
		var name string
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(idxPath.Child("name"), name, msg))
			}
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), name))
		}
		names.Insert(name)
		if p.Port != nil && (*p.Port < 0 || *p.Port > maxPort) {
			errs = append(errs, field.Invalid(idxPath.Child("port"), *p.Port, validation.InclusiveRangeError(0, maxPort)))
		}
		switch {
		case p.Protocol == nil:
			errs = append(errs, field.Required(idxPath.Child("protocol"), ""))
		case !isProtocol(*p.Protocol):
			errs = append(errs, field.NotSupported(idxPath.Child("protocol"), *p.Protocol, protocols))
		}
		if p.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
				errs = append(errs, field.Invalid(idxPath.Child("appProtocol"), *p.AppProtocol, msg))
			}
		}
	}
	return errs
}

func isProtocol(p corev1.Protocol) bool {
	return p == corev1.ProtocolTCP || p == corev1.ProtocolUDP || p == corev1.ProtocolSCTP
}
