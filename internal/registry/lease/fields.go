package lease

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// SelectableFields returns the fields a field selector may match on a Lease:
// only the object's name and namespace.
func SelectableFields(l *coordinationv1.Lease) fields.Set {
	return fields.Set{
		"metadata.name":      l.Name,
		"metadata.namespace": l.Namespace,
	}
}
