// Package proxy is the data-plane-independent model of a node's Services: what
// kube-proxy calls the service and endpoint maps. It turns Services and
// EndpointSlices (as a client-go informer holds them) into a [Snapshot] of
// service ports and their endpoints, and decides which endpoints each kind of
// traffic may use on this node ([ServicePort.ClusterEndpoints],
// [ServicePort.ExternalEndpoints]): ready endpoints first, serving-but-terminating
// ones only when none is ready, local ones only under a Local traffic policy.
// A destination that two Services claim (the same external IP and port, say)
// goes to one of them ([Conflict]), so a data plane never sees it twice.
//
// It deliberately knows nothing of nftables, sockets or the API server: a data
// plane backend (internal/proxy/nftables, ...) consumes a Snapshot, and the agent
// feeds it. Headless and ExternalName Services, and Services that name another
// proxy in service.kubernetes.io/service-proxy-name, are not in a Snapshot.
package proxy
