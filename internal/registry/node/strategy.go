package node

import corev1 "k8s.io/api/core/v1"

// PrepareForCreate does nothing: the registering agent supplies the status.
func PrepareForCreate(n *corev1.Node) {}

// PrepareForUpdate keeps the stored status: it changes only through the status
// subresource.
func PrepareForUpdate(n, old *corev1.Node) {
	n.Status = old.Status
}

// PrepareForStatusUpdate keeps the stored spec.
func PrepareForStatusUpdate(n, old *corev1.Node) {
	n.Spec = old.Spec
}
