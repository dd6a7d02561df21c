package openapi

// jsonSchema is a schema as both document versions spell it in JSON. The
// extensions are plain fields because the set of them is fixed.
type jsonSchema struct {
	Ref                  string                 `json:"$ref,omitempty"`
	Description          string                 `json:"description,omitempty"`
	Type                 string                 `json:"type,omitempty"`
	Format               string                 `json:"format,omitempty"`
	Items                *jsonSchema            `json:"items,omitempty"`
	Properties           map[string]*jsonSchema `json:"properties,omitempty"`
	AdditionalProperties *jsonSchema            `json:"additionalProperties,omitempty"`
	Required             []string               `json:"required,omitempty"`
	AllOf                []*jsonSchema          `json:"allOf,omitempty"`
	OneOf                []*jsonSchema          `json:"oneOf,omitempty"`
	GVK                  []gvk                  `json:"x-kubernetes-group-version-kind,omitempty"`
	IntOrString          bool                   `json:"x-kubernetes-int-or-string,omitempty"`
	ListMapKeys          []string               `json:"x-kubernetes-list-map-keys,omitempty"`
	ListType             string                 `json:"x-kubernetes-list-type,omitempty"`
	MapType              string                 `json:"x-kubernetes-map-type,omitempty"`
	PatchMergeKey        string                 `json:"x-kubernetes-patch-merge-key,omitempty"`
	PatchStrategy        string                 `json:"x-kubernetes-patch-strategy,omitempty"`
}

// dialect is what differs between the two document versions.
type dialect struct {
	refPrefix string // #/definitions/ or #/components/schemas/
	// v3 wraps a reference that has siblings in allOf, as siblings of $ref are
	// ignored there, and spells out type alternatives with oneOf.
	v3 bool
}

var (
	swagger2 = dialect{refPrefix: "#/definitions/"}
	openAPI3 = dialect{refPrefix: "#/components/schemas/", v3: true}
)

// render converts s to its JSON form in dialect d.
func (d dialect) render(s *schema) *jsonSchema {
	if s == nil {
		return nil
	}
	j := &jsonSchema{
		Description:   s.description,
		Type:          s.typ,
		Format:        s.format,
		Items:         d.render(s.items),
		Required:      s.required,
		GVK:           s.ext.gvks,
		IntOrString:   s.ext.intOrString,
		ListMapKeys:   s.ext.listMapKeys,
		ListType:      s.ext.listType,
		MapType:       s.ext.mapType,
		PatchMergeKey: s.ext.patchMergeKey,
		PatchStrategy: s.ext.patchStrategy,
	}
	if s.additional != nil {
		j.AdditionalProperties = d.render(s.additional)
	}
	if len(s.properties) > 0 {
		j.Properties = make(map[string]*jsonSchema, len(s.properties))
		for name, p := range s.properties {
			j.Properties[name] = d.render(p)
		}
	}
	if d.v3 && len(s.oneOfTypes) > 0 {
		j.Type = ""
		for _, t := range s.oneOfTypes {
			j.OneOf = append(j.OneOf, &jsonSchema{Type: t})
		}
	}
	if s.ref != "" {
		ref := &jsonSchema{Ref: d.refPrefix + s.ref}
		if d.v3 && (s.description != "" || !s.ext.empty()) {
			j.AllOf = []*jsonSchema{ref}
		} else {
			j.Ref = ref.Ref
		}
	}
	return j
}

// ref is a bare reference to the named definition.
func (d dialect) ref(name string) *jsonSchema {
	return &jsonSchema{Ref: d.refPrefix + name}
}
