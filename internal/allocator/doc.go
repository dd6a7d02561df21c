// Package allocator holds the allocation rules for Service ClusterIPs and NodePorts,
// following kube-apiserver's behaviour and error messages.
//
// IPRange is a service CIDR (ParseIPRanges reads the one, or two of different
// families for a dual-stack cluster, of --service-cluster-ip-range) and PortRange
// a node port range. Each one knows which
// values are allocatable, validates values that users request (CheckRequested), and
// picks a free value at random (Pick). Both split their range into two bands: a small
// lower band kept for static (user-chosen) values and an upper band that dynamic
// allocation draws from first (KEP-3070 for IPs, KEP-3668 for ports). Used is a
// concurrent-safe set of values in use, which a caller keeps in sync from a watch and
// passes to Pick as Used.Has. PlanRepair compares allocation records with what Services
// actually hold and says what to free, what to restore and what to report.
//
// A typical dynamic allocation:
//
//	r, err := allocator.ParseIPRange("10.96.0.0/12")
//	...
//	ip, err := r.Pick(rnd, used.Has) // errors.Is(err, allocator.ErrFull) when exhausted
//	// write the Service and the allocation record for ip in one transaction
//
// The package deliberately does no I/O and keeps no allocation state of its own: the
// caller persists each allocation (one record per IP or port, written in the same
// transaction as the Service), detects conflicts there (returning ErrIPAllocated or
// ErrPortAllocated), and tells Pick which values are taken. Multiple ServiceCIDR objects
// (KEP-1880) and LoadBalancer IP pools are not handled here.
package allocator
