// Package garbagecollector deletes objects whose owners are gone, as
// kube-controller-manager's garbage collector does for background deletion: an object
// all of whose ownerReferences name owners that no longer exist (absent, or present
// with another UID) is deleted, with the dependent's UID as a precondition.
//
// It watches the metadata of a fixed set of dependent resources (those svcnet's
// controllers create with owner references) and re-checks dependents when an owner
// is deleted. It deliberately does not implement foreground deletion or orphaning
// (the foregroundDeletion and orphan finalizers), nor a graph over every resource of
// the cluster.
package garbagecollector
