package openapi

import (
	"slices"
	"strings"
)

// responseTypes lists the media types the server answers in; watch adds the
// streaming forms for lists that may be watched.
func responseTypes(watch bool) []string {
	types := []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	if watch {
		types = append(types, "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")
	}
	return types
}

// patchTypes lists the patch formats a PATCH request body may use.
func patchTypes() []string {
	return []string{
		"application/apply-patch+yaml",
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
	}
}

// Definitions every group version refers to.
const (
	deleteOptionsDef = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
	patchDef         = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
)

// groupVersion is the part of the API one v3 document describes.
type groupVersion struct {
	path  string // api/v1, apis/discovery.k8s.io/v1
	items []pathItem
}

// pathItem is one URL template and what may be done with it.
type pathItem struct {
	path   string
	params []parameter // shared by every operation on the path
	ops    []operation
}

// operation is one HTTP method on one path.
type operation struct {
	method      string // get, put, post, delete or patch
	id          string
	tag         string
	description string
	action      string // x-kubernetes-action
	gvk         gvk
	params      []parameter
	// body names the definition of the request body; "" for none.
	body         string
	bodyRequired bool
	patch        bool // the body is a patch in one of patchTypes()
	watch        bool // list responses may also be watch streams
	responses    []response
}

// response is one status code; ref names the body's definition, if any.
type response struct {
	code        string
	description string
	ref         string
}

func ok(ref string) response       { return response{code: "200", description: "OK", ref: ref} }
func created(ref string) response  { return response{code: "201", description: "Created", ref: ref} }
func accepted(ref string) response { return response{code: "202", description: "Accepted", ref: ref} }
func unauthorized() response       { return response{code: "401", description: "Unauthorized"} }

// resourcePaths describes the URLs of one resource; object and list are the
// definition names of its kind and list kind.
func resourcePaths(r Resource, object, list string) []pathItem {
	can := func(verb string) bool { return slices.Contains(r.Verbs, verb) }
	prefix := "/api/" + r.Version
	if r.Group != "" {
		prefix = "/apis/" + r.Group + "/" + r.Version
	}
	g := gvk{Group: r.Group, Version: r.Version, Kind: r.Kind}
	gv := operationGroup(r.Group) + upperFirst(r.Version)
	scope, collection := "", prefix+"/"+r.Resource
	var shared []parameter
	if r.Namespaced {
		scope = "Namespaced"
		collection = prefix + "/namespaces/{namespace}/" + r.Resource
		shared = []parameter{pathParam("namespace", "The namespace of the objects.")}
	}
	named := append(slices.Clip(shared), pathParam("name", "The name of the "+r.Kind+"."))
	op := func(method, verb, action string) operation {
		return operation{method: method, id: verb + gv + scope + r.Kind, tag: operationTag(r.Group, r.Version), action: action, gvk: g}
	}

	var items []pathItem
	coll := pathItem{path: collection, params: shared}
	if can("list") {
		o := op("get", "list", "list")
		o.description = "List the " + r.Kind + " objects" + where(r.Namespaced) + "."
		o.params, o.watch = listParams(can("watch")), can("watch")
		o.responses = []response{ok(list), unauthorized()}
		coll.ops = append(coll.ops, o)
	}
	if can("create") {
		o := op("post", "create", "post")
		o.description = "Create a " + r.Kind + "."
		o.params, o.body, o.bodyRequired = writeParams(), object, true
		o.responses = []response{ok(object), created(object), accepted(object), unauthorized()}
		coll.ops = append(coll.ops, o)
	}
	if can("deletecollection") {
		o := op("delete", "delete", "deletecollection")
		o.id = "delete" + gv + "Collection" + scope + r.Kind
		o.description = "Delete the " + r.Kind + " objects" + where(r.Namespaced) + " that the selectors match, and return them."
		o.params, o.body = append(listParams(false), deleteParams()...), deleteOptionsDef
		o.responses = []response{ok(list), unauthorized()}
		coll.ops = append(coll.ops, o)
	}
	if len(coll.ops) > 0 {
		items = append(items, coll)
	}

	item := pathItem{path: collection + "/{name}", params: named}
	if can("get") {
		o := op("get", "read", "get")
		o.description = "Read the named " + r.Kind + "."
		o.responses = []response{ok(object), unauthorized()}
		item.ops = append(item.ops, o)
	}
	if can("update") {
		item.ops = append(item.ops, replaceOp(op("put", "replace", "put"), "the named "+r.Kind, object))
	}
	if can("patch") {
		item.ops = append(item.ops, patchOp(op("patch", "patch", "patch"), "the named "+r.Kind, object))
	}
	if can("delete") {
		o := op("delete", "delete", "delete")
		o.description = "Delete the named " + r.Kind + ", or mark it for deletion while finalizers or a grace period hold it, and return it."
		o.params, o.body = deleteParams(), deleteOptionsDef
		o.responses = []response{ok(object), accepted(object), unauthorized()}
		item.ops = append(item.ops, o)
	}
	if len(item.ops) > 0 {
		items = append(items, item)
	}

	for _, sub := range r.Subresources {
		p := pathItem{path: collection + "/{name}/" + sub, params: named}
		suffix := upperFirst(sub)
		what := "the " + sub + " subresource of the named " + r.Kind
		for _, verb := range subresourceVerbs(sub) {
			if !can(verb) {
				continue
			}
			var o operation
			switch verb {
			case "get":
				o = op("get", "read", "get")
				o.description = "Read " + what + "."
				o.responses = []response{ok(object), unauthorized()}
			case "update":
				o = replaceOp(op("put", "replace", "put"), what, object)
			case "patch":
				o = patchOp(op("patch", "patch", "patch"), what, object)
			}
			o.id += suffix
			p.ops = append(p.ops, o)
		}
		if len(p.ops) > 0 {
			items = append(items, p)
		}
	}

	if r.Namespaced && can("list") {
		o := op("get", "list", "list")
		o.id = "list" + gv + r.Kind + "ForAllNamespaces"
		o.description = "List the " + r.Kind + " objects of all namespaces."
		o.params, o.watch = listParams(can("watch")), can("watch")
		o.responses = []response{ok(list), unauthorized()}
		items = append(items, pathItem{path: prefix + "/" + r.Resource, ops: []operation{o}})
	}
	return items
}

func replaceOp(o operation, what, object string) operation {
	o.description = "Replace " + what + "."
	o.params, o.body, o.bodyRequired = writeParams(), object, true
	o.responses = []response{ok(object), created(object), unauthorized()}
	return o
}

func patchOp(o operation, what, object string) operation {
	o.description = "Patch " + what + " with a JSON patch, a merge patch, a strategic merge patch or an apply patch."
	o.params, o.body, o.bodyRequired, o.patch = patchParams(), patchDef, true, true
	o.responses = []response{ok(object), created(object), unauthorized()}
	return o
}

// subresourceVerbs lists the verbs a subresource offers: finalize can only be
// replaced, status and others read, replaced and patched.
func subresourceVerbs(sub string) []string {
	if sub == "finalize" {
		return []string{"update"}
	}
	return []string{"get", "update", "patch"}
}

func where(namespaced bool) string {
	if namespaced {
		return " in a namespace"
	}
	return ""
}

// operationGroup spells a group inside operation IDs as Kubernetes does:
// Core for the legacy group, else the group without .k8s.io in camel case
// (discovery.k8s.io gives Discovery).
func operationGroup(group string) string {
	if group == "" {
		return "Core"
	}
	var b strings.Builder
	for part := range strings.SplitSeq(strings.TrimSuffix(group, ".k8s.io"), ".") {
		b.WriteString(upperFirst(strings.ReplaceAll(part, "-", "")))
	}
	return b.String()
}

// operationTag groups operations by group version, as core_v1 or discovery_v1.
func operationTag(group, version string) string {
	g := operationGroup(group)
	if g == "" {
		return version
	}
	return strings.ToLower(g[:1]) + g[1:] + "_" + version
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
