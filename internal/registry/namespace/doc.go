// Package namespace is the registry for core/v1 Namespaces: API defaulting,
// the create/update/status/finalize strategies, validation with
// kube-apiserver's field paths and messages, the `kubectl get namespaces`
// table and the field-selector fields.
//
// The lifecycle rules live here only as far as one object is concerned: a new
// namespace is Active and carries the "kubernetes" finalizer; spec.finalizers
// changes only through the finalize subresource and status only through the
// status subresource. Marking a namespace Terminating, refusing creates in it
// and emptying it are the API server's and the namespace controller's work.
package namespace
