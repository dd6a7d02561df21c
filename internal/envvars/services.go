package envvars

import (
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// FromServices returns the variables the kubelet generates for each Service, in the
// order given and, within a Service, in the kubelet's order: _SERVICE_HOST,
// _SERVICE_PORT (the first port), _SERVICE_PORT_{NAME} for every named port, then
// the Docker-links variables (_PORT for the first port, and for every port the
// _PORT_{port}_{PROTO} group).
//
// Services without a ClusterIP (empty or "None": headless and ExternalName) are
// skipped, and so are Services without ports, which validation never admits with
// a ClusterIP. No visibility filter is applied (see ForPod) and names produced by
// two Services are both returned.
func FromServices(services []*corev1.Service) []corev1.EnvVar {
	var vars []corev1.EnvVar
	for _, svc := range services {
		if svc == nil || !hasClusterIP(svc) || len(svc.Spec.Ports) == 0 {
			continue
		}
		vars = append(vars, serviceVars(svc)...)
	}
	return vars
}

// hasClusterIP reports whether the Service's primary ClusterIP is set, the
// kubelet's condition for giving it variables.
func hasClusterIP(svc *corev1.Service) bool {
	ip := svc.Spec.ClusterIP
	return ip != "" && ip != corev1.ClusterIPNone
}

// serviceVars returns the variables of one Service that has a ClusterIP and at
// least one port.
func serviceVars(svc *corev1.Service) []corev1.EnvVar {
	prefix := variableName(svc.Name)
	ip := svc.Spec.ClusterIP
	ports := svc.Spec.Ports

	vars := make([]corev1.EnvVar, 0, 3+5*len(ports))
	vars = append(vars,
		corev1.EnvVar{Name: prefix + "_SERVICE_HOST", Value: ip},
		corev1.EnvVar{Name: prefix + "_SERVICE_PORT", Value: strconv.Itoa(int(ports[0].Port))},
	)
	for _, p := range ports {
		if p.Name != "" {
			vars = append(vars, corev1.EnvVar{
				Name:  prefix + "_SERVICE_PORT_" + variableName(p.Name),
				Value: strconv.Itoa(int(p.Port)),
			})
		}
	}
	return append(vars, linkVars(prefix, ip, ports)...)
}

// linkVars returns the Docker-links compatible variables: the first port gets the
// bare {prefix}_PORT URL, and every port the _PORT_{port}_{PROTO} URL with its
// _PROTO, _PORT and _ADDR parts. URLs bracket IPv6 addresses; _ADDR does not.
func linkVars(prefix, ip string, ports []corev1.ServicePort) []corev1.EnvVar {
	vars := make([]corev1.EnvVar, 0, 1+4*len(ports))
	for i, p := range ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		lower := strings.ToLower(proto)
		port := strconv.Itoa(int(p.Port))
		url := lower + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			vars = append(vars, corev1.EnvVar{Name: prefix + "_PORT", Value: url})
		}
		group := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		vars = append(vars,
			corev1.EnvVar{Name: group, Value: url},
			corev1.EnvVar{Name: group + "_PROTO", Value: lower},
			corev1.EnvVar{Name: group + "_PORT", Value: port},
			corev1.EnvVar{Name: group + "_ADDR", Value: ip},
		)
	}
	return vars
}

// variableName turns a Service or port name into its variable form: upper case,
// with every '-' replaced by '_'. Nothing else is escaped; API validation keeps
// both kinds of name to lower-case letters, digits and '-'.
func variableName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}
