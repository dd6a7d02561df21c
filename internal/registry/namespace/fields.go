package namespace

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// SelectableFields returns the fields a field selector may match on a
// namespace: metadata.name, its legacy alias "name", and status.phase.
// Namespaces are cluster-scoped, so there is no metadata.namespace.
func SelectableFields(ns *corev1.Namespace) fields.Set {
	return fields.Set{
		"metadata.name": ns.Name,
		"name":          ns.Name,
		"status.phase":  string(ns.Status.Phase),
	}
}
