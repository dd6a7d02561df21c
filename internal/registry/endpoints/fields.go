package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// SelectableFields returns the fields a field selector may match on Endpoints:
// only the object's name and namespace.
func SelectableFields(ep *corev1.Endpoints) fields.Set {
	return fields.Set{
		"metadata.name":      ep.Name,
		"metadata.namespace": ep.Namespace,
	}
}
