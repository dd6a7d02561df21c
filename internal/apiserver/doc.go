// Package apiserver serves the Kubernetes REST API for the resources svcnet owns
// (namespaces, services, endpoints, endpointslices, pods, nodes, events, leases) over
// the etcd store, so that unmodified kubectl and client-go work against it.
//
// It does the HTTP half of kube-apiserver by hand: routing, legacy discovery, OpenAPI,
// content negotiation (JSON, YAML, protobuf, meta.k8s.io Tables), the four patch types
// including server-side apply with managedFields, list paging, watch with bookmarks,
// 410 Expired and watch-list initial events, Status errors, authentication and metrics.
// Resource-specific behaviour (defaulting, validation, allocation, printing) comes from
// the registry packages through the Strategy interface and optional hooks.
//
// It deliberately has no admission chain, no aggregation, no API priority and fairness,
// no audit log and no version conversion beyond what a single served version needs.
package apiserver
