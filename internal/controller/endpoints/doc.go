// Package endpoints maintains the legacy core/v1 Endpoints object of every Service
// that has a selector, as kube-controller-manager's Endpoints controller does.
//
// For each such Service it writes one Endpoints object of the same name:
//
//  1. Pods matching the selector in the Service's namespace contribute one address
//     each (the Pod IP of the Service's primary IP family), unless they are terminal,
//     have no IP, or are terminating (terminating Pods are kept only when the
//     Service publishes not-ready addresses).
//  2. Ready Pods go to addresses and the others to notReadyAddresses; with
//     publishNotReadyAddresses every Pod goes to addresses.
//  3. Named target ports are resolved per Pod against its container ports (and
//     those of restartable init containers) of the same name and protocol; a Pod
//     lacking the name lacks that port.
//  4. Subsets are repacked into a canonical form (see [Repack]) so that Pods
//     offering identical ports share a subset and the result compares equal
//     across syncs.
//  5. At most 1,000 addresses are kept (ready ones first, proportionally across
//     subsets); a truncated object carries endpoints.kubernetes.io/over-capacity:
//     truncated, removed again once the Service is back under capacity.
//  6. The Service's labels are copied; endpoints.kubernetes.io/managed-by:
//     endpoint-controller marks the object as this controller's, and
//     service.kubernetes.io/headless is added when the Service has no ClusterIP.
//  7. endpoints.kubernetes.io/last-change-trigger-time records the earliest Pod or
//     Service change that the write reflects.
//
// The object is written only when its subsets, labels or capacity annotation would
// change. When the Service is deleted, loses its selector or becomes ExternalName,
// the Endpoints object is deleted, but only if it carries the managed-by label:
// hand-written Endpoints of selectorless Services are never touched, nor are
// leader-election Endpoints.
//
// It deliberately does not produce EndpointSlices (the endpointslice and mirroring
// controllers do), does not look at Nodes (no zones or topology), and does not
// batch Pod updates beyond the optional [Options.BatchPeriod].
//
// Metrics (on [Options.Registerer]): svcnet_endpoints_syncs_total,
// svcnet_endpoints_sync_duration_seconds and svcnet_endpoints_changes_total{operation}.
//
// Usage:
//
//	c := endpoints.New(client, factory, endpoints.Options{Log: log})
//	factory.Start(ctx.Done())
//	err := c.Run(ctx, 5)
package endpoints
