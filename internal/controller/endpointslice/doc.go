// Package endpointslice is svcnet's EndpointSlice controller: for every Service
// with a selector it keeps a set of discovery.k8s.io/v1 EndpointSlices listing the
// Pods the selector matches, as kube-controller-manager's EndpointSlice controller
// does.
//
// What it maintains, per Service and per IP family in spec.ipFamilies:
//
//  1. Slices labelled kubernetes.io/service-name=<service> and
//     endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io, with
//     the Service's own labels (reserved keys excepted), the
//     service.kubernetes.io/headless label for Services without a cluster IP, and a
//     controller ownerReference to the Service. New slices are created with
//     generateName "<service>-".
//  2. Endpoints grouped by their resolved port list (a named targetPort is looked
//     up per Pod by name and protocol, so Pods can land in different slices), at
//     most Options.MaxEndpointsPerSlice per slice.
//  3. Per endpoint: the Pod addresses of the slice's family, ready/serving/
//     terminating conditions, targetRef, nodeName, zone (the Node's
//     topology.kubernetes.io/zone label), hostname when the Pod's subdomain names
//     the Service, and zone/node hints when spec.trafficDistribution asks for them.
//  4. Exactly one placeholder slice (no ports, no endpoints) when the Service has
//     no endpoints of a family.
//
// A sync changes as little as it can: endpoints stay in the slice that holds
// them, only slices whose content (semantically) differs are written, new
// endpoints go into slices with room before new slices are made, and a slice that
// would be deleted is reused for one that would be created. A single Pod change
// costs one slice write; a restart over correct slices costs none. Every write is
// remembered until the informer cache has caught up with it, so a sync that runs
// on a stale cache waits instead of writing again, and the controller's own writes
// do not wake it up.
//
// Metrics (on Options.Registerer): svcnet_endpointslice_syncs_total{result},
// svcnet_endpointslice_sync_duration_seconds,
// svcnet_endpointslice_changes_total{operation} and
// svcnet_endpointslice_endpoints_changed_total.
//
// Events (on Options.Recorder), all of type Warning and on the Service, so that
// kubectl describe shows them:
//
//   - NoMatchingPods: the selector matches no Pod in the Service's namespace
//     (kube has no such event; finished Pods still count as matched).
//   - NamedPortNotFound: a Service port's named targetPort is defined, with the
//     port's protocol, by none of the selected unfinished Pods; one event per
//     such port, naming it. Not checked while no Pod is selected.
//   - FailedToUpdateEndpointSlices: a sync failed (kube's reason); recorded on
//     every failed attempt, which the workqueue's back-off spaces out.
//
// The first two are conditions, not failures: each is recorded on the first
// sync that sees it and again only after a sync saw it resolved, never on every
// sync. The memory of what was reported is per Service UID and in-process, so a
// restarted controller reports a condition that still holds once more. A Service
// being deleted, or without a selector, gets neither.
//
// Usage:
//
//	factory := informers.NewSharedInformerFactory(client, 0)
//	c := endpointslice.New(client, factory, endpointslice.Options{Log: log, Registerer: reg, Recorder: rec})
//	factory.Start(ctx.Done())
//	err := c.Run(ctx, 5)
//
// Slices with another managed-by value are never read or written. Slices of ours
// that belong to an earlier Service of the same name (another UID), or whose
// Service lost its selector or became type ExternalName, are deleted. When the
// Service itself is deleted its slices are left to the garbage collector (they
// carry its ownerReference).
//
// Deliberately not done: the legacy topology-mode=Auto hint allocation
// (proportional to node CPU), eager rebalancing of half-empty slices, the
// deprecated FQDN address type, and the Endpoints object (another controller's
// job). Pod IPs the API refuses in a slice (unspecified, loopback, link-local)
// are left out instead of failing the slice. The last-change-trigger-time annotation carries the time the controller
// observed the first unsynced change (Options.Clock), not a time read from the
// Pod.
package endpointslice
