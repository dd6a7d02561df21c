// Package envvars computes the Service environment variables that the kubelet
// injects into a container: {SVC}_SERVICE_HOST, {SVC}_SERVICE_PORT,
// {SVC}_SERVICE_PORT_{PORTNAME} and the Docker-links set ({SVC}_PORT,
// {SVC}_PORT_{port}_{PROTO} with _PROTO, _PORT and _ADDR).
//
// FromServices describes a list of Services; ForPod first picks the Services a pod
// in a namespace can see (its own namespace's Services when service links are on,
// and always the `kubernetes` Service of the master namespace) and returns one
// variable per name; Merge lays a container's own env over them, with the kubelet's
// precedence and $(VAR) expansion.
//
//	vars := envvars.ForPod(pod.Namespace, services, envvars.ServiceLinksEnabled(&pod.Spec), "")
//	env := envvars.Merge(container.Env, vars)
//
// The kubelet builds these variables in a Go map, so the order it hands to the
// container runtime is random, and when two Services produce the same name the
// survivor is random too. This package is deterministic instead: Services in name
// order, each Service's variables in the kubelet's generation order, and on a name
// collision the Service later in name order wins.
//
// The package is pure: it reads no API and keeps no state. It deliberately does not
// resolve envFrom or valueFrom sources (ConfigMaps, Secrets, the downward API); a
// caller resolves those before calling Merge.
package envvars
