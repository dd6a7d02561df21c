// Package namespace finishes namespace deletion, as kube-controller-manager's
// namespace controller does: when a Namespace is Terminating, it deletes every object
// in it (for every namespaced resource the server lists in discovery), waits until
// nothing is left, then removes the "kubernetes" finalizer through the finalize
// subresource so the server removes the Namespace.
//
// On every pass it also records, through the status subresource, the five
// conditions with which Kubernetes explains what holds a deletion up (what
// `kubectl describe namespace` shows): NamespaceDeletionDiscoveryFailure,
// NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
// NamespaceContentRemaining and NamespaceFinalizersRemaining, each True with
// Kubernetes' reason and message while that kind of trouble blocks the deletion
// and False (ResourcesDiscovered, ParsedGroupVersions, ContentDeleted,
// ContentRemoved, ContentHasNoFinalizers) once it does not. Objects left without a
// finalizer are an error (NamespaceDeletionContentFailure) unless they are pods
// that may still be within their termination grace period.
//
// It deliberately works only through the API (client-go), so it runs against any
// Kubernetes API server, and it does not honour ownerReferences (garbage collection
// is another controller's job).
package namespace
