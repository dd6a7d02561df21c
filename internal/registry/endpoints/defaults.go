package endpoints

import corev1 "k8s.io/api/core/v1"

// Default applies the v1 API defaults: every port without a protocol gets TCP.
func Default(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		ports := ep.Subsets[i].Ports
		for j := range ports {
			if ports[j].Protocol == "" {
				ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}
