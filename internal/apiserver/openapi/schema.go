package openapi

// schema is one node of the version-neutral type model. The v2 and v3 renderers
// differ only in how they spell references and type alternatives.
type schema struct {
	// ref names a definition; when set, only description and the extensions
	// below sit next to it.
	ref         string
	typ         string // object, array, string, integer, number, boolean or "" (any)
	format      string
	description string
	properties  map[string]*schema
	required    []string
	items       *schema
	additional  *schema  // value schema of a map
	oneOfTypes  []string // v3 only: alternative primitive types (int-or-string)
	ext         extensions
}

// extensions are the x-kubernetes-* vendor extensions a schema may carry.
type extensions struct {
	gvks          []gvk
	intOrString   bool
	listType      string // atomic, set or map
	listMapKeys   []string
	mapType       string // atomic or granular
	patchStrategy string
	patchMergeKey string
}

func (e extensions) empty() bool {
	return len(e.gvks) == 0 && !e.intOrString && e.listType == "" && len(e.listMapKeys) == 0 &&
		e.mapType == "" && e.patchStrategy == "" && e.patchMergeKey == ""
}

// gvk is the value of x-kubernetes-group-version-kind. Group is always
// present, empty for the core group, because kubectl compares whole maps.
type gvk struct {
	Group   string `json:"group"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// refs calls fn with every definition name s points at, directly or nested.
func (s *schema) refs(fn func(string)) {
	if s == nil {
		return
	}
	if s.ref != "" {
		fn(s.ref)
	}
	for _, p := range s.properties {
		p.refs(fn)
	}
	s.items.refs(fn)
	s.additional.refs(fn)
}
