// Package allocation binds ClusterIP and NodePort allocation to Service writes.
//
// Every allocated value is one etcd key (/registry/allocations/clusterips/<ip>,
// /registry/allocations/nodeports/<port>) written or deleted in the same transaction
// as the Service that holds it, so a crash can never leak an allocation or hand one
// out twice, and several API servers on one etcd cannot collide: a lost race shows up
// as a failed precondition and the value is chosen again. An in-memory view of the
// allocation keys, fed by an etcd watch, lets dynamic allocation pick a free value
// without reading etcd. A repair pass at start-up frees records no Service holds and
// restores records a Service holds but etcd lacks (data written by older versions or
// by hand). On a dual-stack cluster a Service holds one cluster IP per entry of
// spec.ipFamilies, each from its family's range; both families share the key space.
//
// The range arithmetic and random choice live in package allocator; this package does
// not validate Services beyond the allocation rules (range, already allocated).
package allocation
