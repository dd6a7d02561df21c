package namespace

import corev1 "k8s.io/api/core/v1"

// Default applies the v1 API defaults: the kubernetes.io/metadata.name label
// always equals the name (so it can be selected on), and an empty phase is
// Active.
func Default(ns *corev1.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}
