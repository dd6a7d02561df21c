package endpointslice

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// SelectableFields returns the fields a field selector may match on an
// EndpointSlice: only the object's name and namespace. Consumers find the
// slices of a Service by the kubernetes.io/service-name label instead.
func SelectableFields(s *discoveryv1.EndpointSlice) fields.Set {
	return fields.Set{
		"metadata.name":      s.Name,
		"metadata.namespace": s.Namespace,
	}
}
