// Package mirroring copies hand-written Endpoints into EndpointSlices, as
// kube-controller-manager's EndpointSlice mirroring controller does, so that data
// planes that read only EndpointSlices (kube-proxy, svcnet's agent) see the
// endpoints of Services without a selector.
//
// An Endpoints object is mirrored when a Service of the same name exists and has
// no selector, and the object is not labelled endpointslice.kubernetes.io/skip-mirror
// = "true", is not a leader-election record (annotation
// control-plane.alpha.kubernetes.io/leader) and was not written by the Endpoints
// controller (endpoints.kubernetes.io/managed-by: endpoint-controller). Its subsets
// are first put in canonical form; then:
//
//  1. Each subset yields one EndpointSlice per address family (IPv4, IPv6) that it
//     has addresses of, with the subset's ports (an empty protocol meaning TCP).
//  2. Addresses become endpoints with ready = true from addresses and false from
//     notReadyAddresses, keeping hostname, nodeName and targetRef. At most
//     [Options.MaxEndpointsPerSubset] (default and maximum 1,000) addresses per
//     subset are mirrored, ready ones first.
//  3. Addresses that are not valid IPs, or are special (unspecified, loopback,
//     link-local unicast or multicast), are skipped with a Warning event.
//  4. Slices are labelled kubernetes.io/service-name=<name> and
//     endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io,
//     carry the Endpoints' other labels and its annotations (except
//     last-change-trigger-time and kubectl's last-applied-configuration), and have a
//     controller owner reference to the Service.
//
// A slice is written only when its endpoints, labels, annotations or owner differ;
// a slice whose port set went away is reused for a new port set of the same family
// rather than deleted and created. Every slice this controller manages for a name
// is deleted when the Endpoints or the Service goes, the Service gains a selector,
// or the Endpoints stops qualifying. Slices managed by anything else are never
// touched.
//
// It deliberately does not derive endpoints from Pods (the endpointslice
// controller does), fill zones, hints or serving/terminating conditions (Endpoints
// carry none), or mirror FQDN addresses.
//
// Metrics (on [Options.Registerer]): svcnet_mirroring_syncs_total,
// svcnet_mirroring_sync_duration_seconds, svcnet_mirroring_changes_total{operation} and
// svcnet_mirroring_addresses_skipped_total.
//
// Usage:
//
//	c := mirroring.New(client, factory, mirroring.Options{Log: log})
//	factory.Start(ctx.Done())
//	err := c.Run(ctx, 5)
package mirroring
