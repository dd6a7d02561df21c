package endpointslice

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// PrepareForCreate starts the slice at generation 1 and drops
// deprecatedTopology, which the v1 API ignores on write.
func PrepareForCreate(s *discoveryv1.EndpointSlice) {
	s.Generation = 1
	dropTopology(s)
}

// PrepareForUpdate drops deprecatedTopology, which the v1 API ignores on write
// (stored slices never carry it, so there is nothing of old to keep), and moves
// the generation on when anything but metadata, or the labels, changed, as
// kube-apiserver does.
func PrepareForUpdate(s, old *discoveryv1.EndpointSlice) {
	dropTopology(s)
	if s.AddressType != old.AddressType || !equality.Semantic.DeepEqual(s.Endpoints, old.Endpoints) ||
		!equality.Semantic.DeepEqual(s.Ports, old.Ports) || !equality.Semantic.DeepEqual(s.Labels, old.Labels) {
		s.Generation = old.Generation + 1
	}
}

func dropTopology(s *discoveryv1.EndpointSlice) {
	for i := range s.Endpoints {
		s.Endpoints[i].DeprecatedTopology = nil
	}
}
