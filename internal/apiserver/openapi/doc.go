// Package openapi builds the OpenAPI documents the API server publishes, so that
// unmodified kubectl can validate, patch and explain the served resources.
//
// New reflects once over the Go types of the served resources (k8s.io/api and
// apimachinery structs) and renders three views of the same model:
//
//   - one OpenAPI v3 document per group version (/openapi/v3/api/v1, ...) plus the
//     root index that points at them with a content hash;
//   - one Swagger 2.0 document for all groups (/openapi/v2), as JSON and as the
//     gnostic protobuf that older kubectl releases download.
//
// Schemas are named as Kubernetes names them (io.k8s.api.core.v1.Service). Field
// descriptions come from the types' SwaggerDoc methods, patch directives from the
// patchStrategy and patchMergeKey struct tags, and list and map semantics
// (x-kubernetes-list-type, list-map-keys, map-type) from the structured-merge-diff
// schema that client-go ships for server-side apply. Every operation lists the
// query parameters the server accepts, fieldValidation included, and carries the
// x-kubernetes-group-version-kind and x-kubernetes-action extensions that
// kubectl looks up.
//
//	spec, err := openapi.New([]openapi.Resource{{
//		Version: "v1", Kind: "Service", ListKind: "ServiceList", Resource: "services",
//		Namespaced: true, Verbs: []string{"get", "list", "create", "update", "patch", "delete"},
//		Subresources: []string{"status"},
//		Object: &corev1.Service{}, List: &corev1.ServiceList{},
//	}})
//	doc, ok := spec.V3Doc("api/v1")
//
// It deliberately does not serve HTTP, negotiate content types, publish enum
// values, defaults or validation limits (they live in comments the Go types do not
// carry), describe the deprecated /watch/ paths, or handle types that are not
// plain JSON-tagged Go structs.
package openapi
