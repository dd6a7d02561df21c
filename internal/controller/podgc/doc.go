// Package podgc completes the graceful deletion of Pods and removes Pods whose
// node does not exist. The API server answers a graceful delete by setting the
// Pod's deletionTimestamp to now plus the grace period and keeping the Pod until
// its node confirms termination; svcnet has no kubelet to confirm, so this
// controller does:
//
//  1. A terminating Pod whose deletionTimestamp has passed is deleted with grace
//     period 0, which removes it. The controller waits for the deadline on a
//     delaying workqueue, so each Pod costs one timer and one delete.
//  2. A terminating Pod bound to a Node that no longer exists is collected at
//     once (see 4 for how): no node will ever confirm. Absence in the informer
//     cache is confirmed with a live read first.
//  3. A terminating Pod that was never scheduled is deleted at once (PodGC's
//     unscheduled-terminating rule).
//  4. Any other Pod bound to a Node that does not exist (deleted, or never
//     created) is collected as kube-controller-manager's PodGC collects orphaned
//     Pods: the node name, missing from the Node informer cache, is put in
//     quarantine for [Options.Quarantine] ([DefaultQuarantine], 40s) from the
//     first Pod seen on it; a node that shows up in the cache meanwhile saves its
//     Pods. After the quarantine the node is looked up in the API, and only if
//     that read answers NotFound are its Pods collected: each one not yet
//     Succeeded or Failed gets its status patched to phase Failed with the
//     condition DisruptionTarget=True (reason DeletionByPodGC, message "PodGC:
//     node no longer exists"), which takes it out of every Service, even one
//     with publishNotReadyAddresses; then it is deleted with grace period 0.
//     Failures are retried with backoff, without a new quarantine.
//
// Every write carries the Pod's UID as a precondition (the delete's
// preconditions, the status patch's metadata.uid), so a Pod recreated under the
// same name is never hit.
//
// It deliberately does not touch Pods without spec.nodeName unless they are
// terminating, does not garbage-collect terminated Pods beyond a threshold, does
// not act on out-of-service taints, and deletes no terminating Pod holding
// finalizers (a grace-0 delete cannot remove it; the finalizers' owners must
// finish first; an orphaned one is only marked Failed). Unlike kube's PodGC, a
// terminating Pod of a vanished node skips the quarantine: the live read alone
// confirms the node is gone, and the user has already asked for the deletion.
//
// Metrics (on [Options.Registerer]): svcnet_podgc_syncs_total,
// svcnet_podgc_node_checks_total, svcnet_podgc_deletions_total{reason} and
// svcnet_podgc_errors_total{reason}. It records no events: the Pods it acts on
// are gone afterwards.
//
// Usage:
//
//	c := podgc.New(client, factory, podgc.Options{Log: log})
//	factory.Start(ctx.Done())
//	err := c.Run(ctx, 2)
package podgc
