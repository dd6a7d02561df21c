// Package endpointslice is the registry for discovery.k8s.io/v1
// EndpointSlices: API defaulting, create and update validation with
// kube-apiserver's field paths and messages, the `kubectl get endpointslices`
// table and the field-selector fields.
//
// The deprecatedTopology field cannot be written through the v1 API, so the
// PrepareFor* functions drop it. Endpoint conditions are left as written: a nil
// ready or serving means true and a nil terminating means false, for consumers
// to interpret. EndpointSlices have no status subresource.
package endpointslice
