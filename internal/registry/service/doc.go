// Package service holds the registry rules for core/v1 Services: API defaulting,
// the create/update/status strategies, validation, table printing and field
// selectors, written to behave as kube-apiserver does for the v1 Service type.
//
// The API server adapts these plain typed functions (Default, PrepareForCreate,
// PrepareForUpdate, PrepareForStatusUpdate, ValidateCreate, ValidateUpdate,
// ValidateStatusUpdate, TableColumns, TableRow, SelectableFields) to its generic
// Strategy. The order on a write is: Default, PrepareFor*, Validate*, and then the
// allocation hook. The two functions that need the cluster's IP families (the
// families of its service CIDRs, primary first) are meant for those steps:
// DefaultIPFamilies after PrepareFor*, ValidateClusterFamilies next to Validate*.
//
// Deliberately not here: anything that needs cluster state. ClusterIP and NodePort
// allocation, "already allocated" and "not in range" checks belong to the allocator,
// which also fills healthCheckNodePort; validation therefore accepts a missing
// healthCheckNodePort (and a missing clusterIP or nodePort) and only checks values
// that were given. Warnings (deprecated fields, non-canonical IPs) are not produced.
package service
