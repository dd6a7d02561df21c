package namespace

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// PrepareForCreate makes a new namespace Active and adds the "kubernetes"
// finalizer, which the namespace controller removes once the namespace is
// empty. Any status sent by the client is dropped.
func PrepareForCreate(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
}

// PrepareForUpdate keeps the stored status and spec.finalizers: a main-resource
// update changes only metadata.
func PrepareForUpdate(ns, old *corev1.Namespace) {
	ns.Spec.Finalizers = old.Spec.Finalizers
	ns.Status = old.Status
}

// PrepareForStatusUpdate keeps the stored spec: the status subresource changes
// only status.
func PrepareForStatusUpdate(ns, old *corev1.Namespace) {
	ns.Spec = old.Spec
}

// PrepareForFinalize keeps the stored status: the finalize subresource changes
// only spec.finalizers (spec has no other field).
func PrepareForFinalize(ns, old *corev1.Namespace) {
	ns.Status = old.Status
}
