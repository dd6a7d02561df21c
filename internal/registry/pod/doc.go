// Package pod is the registry for core/v1 Pods: API defaulting, the create,
// update and status strategies (phase and QoS class on create), validation
// with kube-apiserver's field paths and messages, the `kubectl get pods` table
// and the field-selector fields.
//
// svcnet stores Pods so that Services select them and endpoint controllers
// publish their IPs; it runs no kubelet and no scheduler. Validation therefore
// covers what matters to networking and to keeping objects well-formed (names,
// containers, ports, hostname/subdomain, DNS and restart policy, tolerations,
// the update rules, pod and host IPs) and deliberately skips volumes, probes,
// resources, affinity and security contexts beyond not crashing on them.
// Admission plugins (service accounts, default tolerations) are not applied.
package pod
