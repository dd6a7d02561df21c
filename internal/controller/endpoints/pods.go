package endpoints

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// includePod reports whether pod may appear in the Service's Endpoints at all:
// terminal Pods and Pods without an IP never do, terminating Pods only when
// includeTerminating (publishNotReadyAddresses) is set.
func includePod(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// podReady reports whether the Pod's Ready condition is True.
func podReady(pod *corev1.Pod) bool {
	c := readyCondition(pod)
	return c != nil && c.Status == corev1.ConditionTrue
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// serviceFamily is the IP family whose Pod IPs the Service's Endpoints list: the
// first of spec.ipFamilies; for servers that do not fill it, the ClusterIP's family,
// or for headless Services the family of the Pod's primary IP.
func serviceFamily(svc *corev1.Service, pod *corev1.Pod) corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	ip := svc.Spec.ClusterIP
	if !serviceIPSet(svc) {
		ip = pod.Status.PodIP
	}
	if isIPv6(ip) {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// podIP returns the Pod's IP of the given family, if it has one.
func podIP(pod *corev1.Pod, family corev1.IPFamily) (string, bool) {
	want6 := family == corev1.IPv6Protocol
	for _, ip := range pod.Status.PodIPs {
		if isIPv6(ip.IP) == want6 {
			return ip.IP, true
		}
	}
	// Servers that fill only the legacy field.
	if len(pod.Status.PodIPs) == 0 && pod.Status.PodIP != "" && isIPv6(pod.Status.PodIP) == want6 {
		return pod.Status.PodIP, true
	}
	return "", false
}

func isIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Unmap().Is6()
}

// serviceIPSet reports whether the Service has a virtual IP (is not headless).
func serviceIPSet(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// publishHostname reports whether the Pod's hostname belongs in its address:
// only when the Pod names the Service as its subdomain.
func publishHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace
}

// protocolOr returns p, or TCP (the API default) when p is empty.
func protocolOr(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// resolvePort finds the Pod port a Service port targets. An integer target port is
// used as is (zero, never stored by a real server, means the Service port); a named
// one is looked up among the Pod's container ports with the same name and protocol,
// including restartable (sidecar) init containers.
func resolvePort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	proto := protocolOr(sp.Protocol)
	find := func(cs []corev1.Container, sidecarsOnly bool) (int32, bool) {
		for i := range cs {
			c := &cs[i]
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				if p.Name == tp.StrVal && protocolOr(p.Protocol) == proto {
					return p.ContainerPort, true
				}
			}
		}
		return 0, false
	}
	if port, ok := find(pod.Spec.Containers, false); ok {
		return port, true
	}
	return find(pod.Spec.InitContainers, true)
}
