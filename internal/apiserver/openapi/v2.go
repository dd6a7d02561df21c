package openapi

import (
	"fmt"
)

// The types below are the subset of Swagger 2.0 the server publishes.
type (
	v2Document struct {
		Swagger     string                 `json:"swagger"`
		Info        info                   `json:"info"`
		Paths       map[string]*v2PathItem `json:"paths"`
		Definitions map[string]*jsonSchema `json:"definitions"`
	}
	v2PathItem struct {
		Parameters []v2Parameter `json:"parameters,omitempty"`
		Get        *v2Operation  `json:"get,omitempty"`
		Put        *v2Operation  `json:"put,omitempty"`
		Post       *v2Operation  `json:"post,omitempty"`
		Delete     *v2Operation  `json:"delete,omitempty"`
		Patch      *v2Operation  `json:"patch,omitempty"`
	}
	v2Operation struct {
		Tags        []string              `json:"tags"`
		Description string                `json:"description"`
		Consumes    []string              `json:"consumes,omitempty"`
		Produces    []string              `json:"produces"`
		OperationID string                `json:"operationId"`
		Parameters  []v2Parameter         `json:"parameters,omitempty"`
		Responses   map[string]v2Response `json:"responses"`
		Action      string                `json:"x-kubernetes-action"`
		GVK         gvk                   `json:"x-kubernetes-group-version-kind"`
	}
	// v2Parameter is a path or query parameter (Type set) or the body (Schema set).
	v2Parameter struct {
		Name        string      `json:"name"`
		In          string      `json:"in"`
		Description string      `json:"description,omitempty"`
		Required    bool        `json:"required,omitempty"`
		Type        string      `json:"type,omitempty"`
		Schema      *jsonSchema `json:"schema,omitempty"`
	}
	v2Response struct {
		Description string      `json:"description"`
		Schema      *jsonSchema `json:"schema,omitempty"`
	}
)

// buildV2 assembles the single Swagger 2.0 document of all group versions,
// with every definition.
func buildV2(gvs []*groupVersion, defs map[string]*schema) (*v2Document, error) {
	doc := &v2Document{
		Swagger:     "2.0",
		Info:        docInfo(),
		Paths:       map[string]*v2PathItem{},
		Definitions: make(map[string]*jsonSchema, len(defs)),
	}
	for _, gv := range gvs {
		for _, item := range gv.items {
			pi := &v2PathItem{Parameters: v2Parameters(item.params)}
			for _, op := range item.ops {
				o := &v2Operation{
					Tags:        []string{op.tag},
					Description: op.description,
					Produces:    responseTypes(op.watch),
					OperationID: op.id,
					Parameters:  v2Parameters(op.params),
					Responses:   map[string]v2Response{},
					Action:      op.action,
					GVK:         op.gvk,
				}
				if op.body != "" {
					o.Consumes = []string{"*/*"}
					if op.patch {
						o.Consumes = patchTypes()
					}
					o.Parameters = append(o.Parameters, v2Parameter{Name: "body", In: "body", Required: op.bodyRequired, Schema: swagger2.ref(op.body)})
				}
				for _, r := range op.responses {
					resp := v2Response{Description: r.description}
					if r.ref != "" {
						resp.Schema = swagger2.ref(r.ref)
					}
					o.Responses[r.code] = resp
				}
				if err := setOperation(op.method, o, &pi.Get, &pi.Put, &pi.Post, &pi.Delete, &pi.Patch); err != nil {
					return nil, fmt.Errorf("path %s: %w", item.path, err)
				}
			}
			if _, dup := doc.Paths[item.path]; dup {
				return nil, fmt.Errorf("path %s described twice", item.path)
			}
			doc.Paths[item.path] = pi
		}
	}
	for name, s := range defs {
		doc.Definitions[name] = swagger2.render(s)
	}
	return doc, nil
}

func v2Parameters(ps []parameter) []v2Parameter {
	var out []v2Parameter
	for _, p := range ps {
		out = append(out, v2Parameter{Name: p.name, In: p.in, Description: p.description, Required: p.required, Type: p.typ})
	}
	return out
}
