// Package namespace finishes namespace deletion, as kube-controller-manager's
// namespace controller does: when a Namespace is Terminating, it deletes every object
// in it (for every namespaced resource the server lists in discovery), waits until
// nothing is left, then removes the "kubernetes" finalizer through the finalize
// subresource so the server removes the Namespace.
//
// It deliberately works only through the API (client-go), so it runs against any
// Kubernetes API server, and it does not honour ownerReferences (garbage collection
// is another controller's job).
package namespace
