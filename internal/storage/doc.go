// Package storage keeps API objects in etcd v3: one key per object, with the etcd
// modification revision serving as the object's resourceVersion, as kube-apiserver does.
//
// Store offers the few operations the API server needs: consistent reads and paged
// range reads at a revision, multi-key transactions guarded by per-key revision
// preconditions (so an object and its ClusterIP/NodePort allocation records are written
// atomically), and prefix watches from a revision with the previous value attached.
// Embedded starts a single-member etcd in a data directory; an external cluster is used
// through an ordinary etcd client.
//
// It deliberately knows nothing about Kubernetes types or encodings: values are opaque
// bytes, and mapping errors to API Status objects is the API server's job.
package storage
