package endpointslice

import discoveryv1 "k8s.io/api/discovery/v1"

// PrepareForCreate drops deprecatedTopology, which the v1 API ignores on write.
func PrepareForCreate(s *discoveryv1.EndpointSlice) {
	dropTopology(s)
}

// PrepareForUpdate drops deprecatedTopology, which the v1 API ignores on write.
// Stored slices never carry it, so there is nothing of old to keep.
func PrepareForUpdate(s, old *discoveryv1.EndpointSlice) {
	dropTopology(s)
}

func dropTopology(s *discoveryv1.EndpointSlice) {
	for i := range s.Endpoints {
		s.Endpoints[i].DeprecatedTopology = nil
	}
}
