// Package event is the registry for core/v1 Events: validation as
// kube-apiserver applies it to Events written through the core API, the
// `kubectl get events` table and the field-selector fields that
// `kubectl describe` uses to find the events of an object.
//
// Events written through core/v1 get only the loose, backward-compatible
// checks: namespaces must agree, and the reason/message/action limits apply
// only to new-style events (those with eventTime set). On top of that this
// package rejects a type other than Normal or Warning. Events have no defaults,
// no server-owned fields and no status subresource; the events.k8s.io API is
// not served.
package event
