// Package lease is the registry for coordination.k8s.io/v1 Leases, the objects
// that leader election and node heartbeats renew: validation with
// kube-apiserver's field paths and messages, the `kubectl get leases` table
// and the field-selector fields.
//
// Leases have no defaults, no server-owned fields and no status subresource;
// Default and the PrepareFor* functions exist for a uniform registry and change
// nothing. The coordinated-leader-election fields (strategy, preferredHolder)
// are stored as written and not validated.
package lease
