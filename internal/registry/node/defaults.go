package node

import corev1 "k8s.io/api/core/v1"

// Default applies the v1 API defaults and the normalisation kube-apiserver's
// decoding gives Nodes: allocatable defaults to capacity, and the singular
// podCIDR and the podCIDRs list agree (podCIDR wins when both are set and
// differ, for old clients).
func Default(n *corev1.Node) {
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
	spec := &n.Spec
	switch {
	case spec.PodCIDR != "" && (len(spec.PodCIDRs) == 0 || spec.PodCIDRs[0] != spec.PodCIDR):
		spec.PodCIDRs = []string{spec.PodCIDR}
	case spec.PodCIDR == "" && len(spec.PodCIDRs) > 0:
		spec.PodCIDR = spec.PodCIDRs[0]
	}
}
