// Package agent is the node agent: it registers its Node with the API server,
// keeps the Node's Lease in kube-node-lease fresh, watches Services and
// EndpointSlices with client-go informers, and keeps the node's data plane in
// step with them, as kube-proxy does.
//
// Changes are coalesced: a burst of informer events becomes one sync, built from
// the informer caches as a [proxy.Snapshot] and handed to the data plane, which
// sends only what changed. A periodic full sync repairs anything changed behind
// the agent's back. When a UDP endpoint goes away its conntrack entries are
// deleted, so clients do not keep sending to a dead pod. Health (/healthz, as
// kube-proxy serves it on :10256) and Prometheus metrics are served over HTTP.
//
// The data plane keeps its last state while the API server is unreachable: the
// informers retry and the agent syncs again when they catch up.
//
// Without a data plane (proxy mode none) it only registers and heartbeats.
// Cluster DNS runs next to it in the same process (package dns), wired by the
// CLI; this package does not know about it.
//
// It deliberately does not run pods and does not mark other nodes NotReady
// (the server's node lifecycle controller does).
package agent
