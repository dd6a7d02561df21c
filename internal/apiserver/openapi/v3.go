package openapi

import (
	"encoding/json"
	"fmt"
	"slices"
)

// The types below are the subset of OpenAPI 3.0 the server publishes.
type (
	v3Document struct {
		OpenAPI    string                 `json:"openapi"`
		Info       info                   `json:"info"`
		Paths      map[string]*v3PathItem `json:"paths"`
		Components v3Components           `json:"components"`
	}
	info struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	}
	v3Components struct {
		Schemas map[string]*jsonSchema `json:"schemas"`
	}
	v3PathItem struct {
		Parameters []v3Parameter `json:"parameters,omitempty"`
		Get        *v3Operation  `json:"get,omitempty"`
		Put        *v3Operation  `json:"put,omitempty"`
		Post       *v3Operation  `json:"post,omitempty"`
		Delete     *v3Operation  `json:"delete,omitempty"`
		Patch      *v3Operation  `json:"patch,omitempty"`
	}
	v3Operation struct {
		Tags        []string              `json:"tags"`
		Description string                `json:"description"`
		OperationID string                `json:"operationId"`
		Parameters  []v3Parameter         `json:"parameters,omitempty"`
		RequestBody *v3RequestBody        `json:"requestBody,omitempty"`
		Responses   map[string]v3Response `json:"responses"`
		Action      string                `json:"x-kubernetes-action"`
		GVK         gvk                   `json:"x-kubernetes-group-version-kind"`
	}
	v3Parameter struct {
		Name        string      `json:"name"`
		In          string      `json:"in"`
		Description string      `json:"description,omitempty"`
		Required    bool        `json:"required,omitempty"`
		Schema      *jsonSchema `json:"schema"`
	}
	v3RequestBody struct {
		Content  map[string]v3Media `json:"content"`
		Required bool               `json:"required,omitempty"`
	}
	v3Media struct {
		Schema *jsonSchema `json:"schema"`
	}
	v3Response struct {
		Description string             `json:"description"`
		Content     map[string]v3Media `json:"content,omitempty"`
	}
)

// docInfo is the info object of every document.
func docInfo() info { return info{Title: "svcnet", Version: "unversioned"} }

// renderV3 marshals the document of one group version: its paths and every
// definition they reach.
func renderV3(gv *groupVersion, defs map[string]*schema) ([]byte, error) {
	doc := v3Document{
		OpenAPI:    "3.0.0",
		Info:       docInfo(),
		Paths:      map[string]*v3PathItem{},
		Components: v3Components{Schemas: map[string]*jsonSchema{}},
	}
	var roots []string
	for _, item := range gv.items {
		pi := &v3PathItem{Parameters: v3Parameters(item.params)}
		for _, op := range item.ops {
			o := &v3Operation{
				Tags:        []string{op.tag},
				Description: op.description,
				OperationID: op.id,
				Parameters:  v3Parameters(op.params),
				Responses:   map[string]v3Response{},
				Action:      op.action,
				GVK:         op.gvk,
			}
			if op.body != "" {
				types := []string{"*/*"}
				if op.patch {
					types = patchTypes()
				}
				o.RequestBody = &v3RequestBody{Content: v3Content(types, op.body), Required: op.bodyRequired}
				roots = append(roots, op.body)
			}
			for _, r := range op.responses {
				resp := v3Response{Description: r.description}
				if r.ref != "" {
					resp.Content = v3Content(responseTypes(op.watch), r.ref)
					roots = append(roots, r.ref)
				}
				o.Responses[r.code] = resp
			}
			if err := setOperation(op.method, o, &pi.Get, &pi.Put, &pi.Post, &pi.Delete, &pi.Patch); err != nil {
				return nil, fmt.Errorf("path %s: %w", item.path, err)
			}
		}
		doc.Paths[item.path] = pi
	}
	for _, name := range reachable(roots, defs) {
		doc.Components.Schemas[name] = openAPI3.render(defs[name])
	}
	return json.Marshal(doc)
}

// setOperation stores o in the slot of method: get, put, post, delete or patch.
func setOperation[T any](method string, o *T, get, put, post, del, patch **T) error {
	slot := map[string]**T{"get": get, "put": put, "post": post, "delete": del, "patch": patch}[method]
	switch {
	case slot == nil:
		return fmt.Errorf("unknown method %s", method)
	case *slot != nil:
		return fmt.Errorf("method %s defined twice", method)
	}
	*slot = o
	return nil
}

func v3Parameters(ps []parameter) []v3Parameter {
	var out []v3Parameter
	for _, p := range ps {
		out = append(out, v3Parameter{Name: p.name, In: p.in, Description: p.description, Required: p.required, Schema: &jsonSchema{Type: p.typ}})
	}
	return out
}

func v3Content(types []string, ref string) map[string]v3Media {
	content := make(map[string]v3Media, len(types))
	for _, t := range types {
		content[t] = v3Media{Schema: openAPI3.ref(ref)}
	}
	return content
}

// reachable returns the definitions roots refer to, directly or through other
// definitions, sorted.
func reachable(roots []string, defs map[string]*schema) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		defs[name].refs(visit)
	}
	for _, r := range roots {
		visit(r)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
