package service

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// protocols are the port protocols a Service accepts, sorted.
var protocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}

// validatePorts checks each port on its own: a DNS-1123 label name that is
// required when there is more than one port and unique among them, a port number,
// a supported protocol, a targetPort that is a port number or an IANA service name,
// and an appProtocol in qualified-name syntax.
func validatePorts(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	needName := len(svc.Spec.Ports) > 1
	names := make(map[string]bool, len(svc.Spec.Ports))
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := field.NewPath("spec", "ports").Index(i)
		switch {
		case p.Name == "" && needName:
			errs = append(errs, field.Required(path.Child("name"), ""))
		case p.Name != "":
			for _, msg := range validation.IsDNS1123Label(p.Name) {
				errs = append(errs, field.Invalid(path.Child("name"), p.Name, msg))
			}
			if names[p.Name] {
				errs = append(errs, field.Duplicate(path.Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port, msg))
		}
		switch {
		case p.Protocol == "":
			errs = append(errs, field.Required(path.Child("protocol"), ""))
		case !slices.Contains(protocols, p.Protocol):
			errs = append(errs, field.NotSupported(path.Child("protocol"), p.Protocol, protocols))
		}
		// kube-apiserver has always tolerated any targetPort on headless Services
		// beyond this syntax check, so nothing more is asked of them here.
		errs = append(errs, validatePortNumOrName(p.TargetPort, path.Child("targetPort"))...)
		if p.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*p.AppProtocol, path.Child("appProtocol"))...)
		}
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(path, port.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, msg))
		}
	default:
		errs = append(errs, field.InternalError(path, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return errs
}

// validatePortUniqueness checks the rules across ports: ClusterIP Services have
// no nodePorts, and (protocol, nodePort) and (protocol, port) pairs are unique.
// Whether a nodePort is in the node port range is the allocator's concern.
func validatePortUniqueness(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	ports := field.NewPath("spec", "ports")
	if svc.Spec.Type == corev1.ServiceTypeClusterIP {
		for i, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				errs = append(errs, field.Forbidden(ports.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	type key struct {
		protocol corev1.Protocol
		port     int32
	}
	nodePorts := make(map[key]bool, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		k := key{p.Protocol, p.NodePort}
		if nodePorts[k] {
			errs = append(errs, field.Duplicate(ports.Index(i).Child("nodePort"), p.NodePort))
		}
		nodePorts[k] = true
	}
	servicePorts := make(map[key]bool, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		k := key{p.Protocol, p.Port}
		if servicePorts[k] {
			errs = append(errs, field.Duplicate(ports.Index(i), corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}))
		}
		servicePorts[k] = true
	}
	return errs
}
