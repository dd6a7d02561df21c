// Package endpoints is the registry for core/v1 Endpoints: API defaulting,
// create and update validation with kube-apiserver's field paths and messages,
// the `kubectl get endpoints` table and the field-selector fields.
//
// It also exports ValidateNonSpecialIP, the address check that Endpoints,
// EndpointSlices and Service external IPs share.
//
// Endpoints have no status subresource and no server-owned fields, so the
// PrepareFor* functions change nothing. Unlike kube-apiserver, this package
// does not repack subsets (merge subsets with equal ports and sort addresses)
// on write: objects are stored as written.
package endpoints
