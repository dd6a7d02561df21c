package openapi

import (
	"encoding/json"
	"maps"
	"slices"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
)

// gnosticDocument converts the Swagger 2.0 document to gnostic's protobuf
// model, which kubectl releases before 1.27 download instead of JSON. Named
// entries come sorted so the output is stable.
func gnosticDocument(doc *v2Document) *openapi_v2.Document {
	out := &openapi_v2.Document{
		Swagger:     doc.Swagger,
		Info:        &openapi_v2.Info{Title: doc.Info.Title, Version: doc.Info.Version},
		Paths:       &openapi_v2.Paths{},
		Definitions: &openapi_v2.Definitions{},
	}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
		pi := doc.Paths[path]
		out.Paths.Path = append(out.Paths.Path, &openapi_v2.NamedPathItem{Name: path, Value: &openapi_v2.PathItem{
			Get:        gnosticOperation(pi.Get),
			Put:        gnosticOperation(pi.Put),
			Post:       gnosticOperation(pi.Post),
			Delete:     gnosticOperation(pi.Delete),
			Patch:      gnosticOperation(pi.Patch),
			Parameters: gnosticParameters(pi.Parameters),
		}})
	}
	out.Definitions.AdditionalProperties = gnosticNamedSchemas(doc.Definitions)
	return out
}

func gnosticOperation(o *v2Operation) *openapi_v2.Operation {
	if o == nil {
		return nil
	}
	out := &openapi_v2.Operation{
		Tags:        o.Tags,
		Description: o.Description,
		OperationId: o.OperationID,
		Produces:    o.Produces,
		Consumes:    o.Consumes,
		Parameters:  gnosticParameters(o.Parameters),
		Responses:   &openapi_v2.Responses{},
		VendorExtension: []*openapi_v2.NamedAny{
			extension("x-kubernetes-action", o.Action),
			extension("x-kubernetes-group-version-kind", o.GVK),
		},
	}
	for _, code := range slices.Sorted(maps.Keys(o.Responses)) {
		r := o.Responses[code]
		resp := &openapi_v2.Response{Description: r.Description}
		if r.Schema != nil {
			resp.Schema = &openapi_v2.SchemaItem{Oneof: &openapi_v2.SchemaItem_Schema{Schema: gnosticSchema(r.Schema)}}
		}
		out.Responses.ResponseCode = append(out.Responses.ResponseCode, &openapi_v2.NamedResponseValue{
			Name:  code,
			Value: &openapi_v2.ResponseValue{Oneof: &openapi_v2.ResponseValue_Response{Response: resp}},
		})
	}
	return out
}

func gnosticParameters(ps []v2Parameter) []*openapi_v2.ParametersItem {
	var out []*openapi_v2.ParametersItem
	for _, p := range ps {
		param := &openapi_v2.Parameter{}
		switch p.In {
		case "body":
			param.Oneof = &openapi_v2.Parameter_BodyParameter{BodyParameter: &openapi_v2.BodyParameter{
				Name: p.Name, In: p.In, Description: p.Description, Required: p.Required, Schema: gnosticSchema(p.Schema),
			}}
		case "path":
			param.Oneof = &openapi_v2.Parameter_NonBodyParameter{NonBodyParameter: &openapi_v2.NonBodyParameter{
				Oneof: &openapi_v2.NonBodyParameter_PathParameterSubSchema{PathParameterSubSchema: &openapi_v2.PathParameterSubSchema{
					Name: p.Name, In: p.In, Description: p.Description, Required: p.Required, Type: p.Type,
				}},
			}}
		default:
			param.Oneof = &openapi_v2.Parameter_NonBodyParameter{NonBodyParameter: &openapi_v2.NonBodyParameter{
				Oneof: &openapi_v2.NonBodyParameter_QueryParameterSubSchema{QueryParameterSubSchema: &openapi_v2.QueryParameterSubSchema{
					Name: p.Name, In: p.In, Description: p.Description, Required: p.Required, Type: p.Type,
				}},
			}}
		}
		out = append(out, &openapi_v2.ParametersItem{Oneof: &openapi_v2.ParametersItem_Parameter{Parameter: param}})
	}
	return out
}

func gnosticNamedSchemas(m map[string]*jsonSchema) []*openapi_v2.NamedSchema {
	out := make([]*openapi_v2.NamedSchema, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &openapi_v2.NamedSchema{Name: name, Value: gnosticSchema(m[name])})
	}
	return out
}

func gnosticSchema(s *jsonSchema) *openapi_v2.Schema {
	if s == nil {
		return nil
	}
	out := &openapi_v2.Schema{
		XRef:        s.Ref,
		Description: s.Description,
		Format:      s.Format,
		Required:    s.Required,
	}
	if s.Type != "" {
		out.Type = &openapi_v2.TypeItem{Value: []string{s.Type}}
	}
	if s.Items != nil {
		out.Items = &openapi_v2.ItemsItem{Schema: []*openapi_v2.Schema{gnosticSchema(s.Items)}}
	}
	if len(s.Properties) > 0 {
		out.Properties = &openapi_v2.Properties{AdditionalProperties: gnosticNamedSchemas(s.Properties)}
	}
	if s.AdditionalProperties != nil {
		out.AdditionalProperties = &openapi_v2.AdditionalPropertiesItem{
			Oneof: &openapi_v2.AdditionalPropertiesItem_Schema{Schema: gnosticSchema(s.AdditionalProperties)},
		}
	}
	// Sorted by name, as the JSON form lists them.
	if len(s.GVK) > 0 {
		out.VendorExtension = append(out.VendorExtension, extension("x-kubernetes-group-version-kind", s.GVK))
	}
	if s.IntOrString {
		out.VendorExtension = append(out.VendorExtension, extension("x-kubernetes-int-or-string", true))
	}
	if len(s.ListMapKeys) > 0 {
		out.VendorExtension = append(out.VendorExtension, extension("x-kubernetes-list-map-keys", s.ListMapKeys))
	}
	for _, e := range []struct{ name, value string }{
		{"x-kubernetes-list-type", s.ListType},
		{"x-kubernetes-map-type", s.MapType},
		{"x-kubernetes-patch-merge-key", s.PatchMergeKey},
		{"x-kubernetes-patch-strategy", s.PatchStrategy},
	} {
		if e.value != "" {
			out.VendorExtension = append(out.VendorExtension, extension(e.name, e.value))
		}
	}
	return out
}

// extension wraps a vendor extension value the way gnostic carries it: as YAML
// text, for which JSON (a subset of YAML) serves.
func extension(name string, value any) *openapi_v2.NamedAny {
	// Marshalling strings, booleans, string lists and gvk values cannot fail.
	b, _ := json.Marshal(value)
	return &openapi_v2.NamedAny{Name: name, Value: &openapi_v2.Any{Yaml: string(b)}}
}
