// Package podgc completes the graceful deletion of Pods. The API server answers a
// graceful delete by setting the Pod's deletionTimestamp to now plus the grace
// period and keeping the Pod until its node confirms termination; svcnet has no
// kubelet to confirm, so this controller does:
//
//  1. A terminating Pod whose deletionTimestamp has passed is deleted with grace
//     period 0, which removes it. The controller waits for the deadline on a
//     delaying workqueue, so each Pod costs one timer and one delete.
//  2. A terminating Pod bound to a Node that no longer exists is deleted at once,
//     as kube-controller-manager's PodGC does with orphaned Pods: no node will
//     ever confirm. Absence in the informer cache is confirmed with a live read
//     before deleting.
//  3. A terminating Pod that was never scheduled is deleted at once (PodGC's
//     unscheduled-terminating rule).
//
// Every delete carries the Pod's UID as a precondition, so a Pod recreated under
// the same name is never hit.
//
// It deliberately does not delete Pods that are not terminating (not even those of
// vanished nodes: that decision is the node lifecycle's), does not garbage-collect
// terminated Pods beyond a threshold, and leaves Pods holding finalizers alone (a
// grace-0 delete cannot remove them; the finalizers' owners must finish first).
//
// Metrics (on [Options.Registerer]): svcnet_podgc_syncs_total and
// svcnet_podgc_deletions_total{reason}. It records no events: the Pods it acts on
// are gone afterwards.
//
// Usage:
//
//	c := podgc.New(client, factory, podgc.Options{Log: log})
//	factory.Start(ctx.Done())
//	err := c.Run(ctx, 2)
package podgc
