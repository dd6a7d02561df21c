// Package node is the registry for core/v1 Nodes (cluster-scoped): API
// defaulting, the main and status update strategies, validation with
// kube-apiserver's field paths and messages, the `kubectl get nodes` table and
// the field-selector fields.
//
// A node agent creates its Node with status filled in, so create keeps status;
// afterwards status changes only through the status subresource. Resource
// quantities are checked for sign only, and the deprecated spec.configSource
// and node annotations are not validated.
package node
