package openapi

import (
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	kschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// mergeSemantics holds how lists and maps merge, as the structured-merge-diff
// schema of server-side apply declares it, keyed by definition name and JSON
// field name. Inlined Go structs appear as fields of the type embedding them.
type mergeSemantics struct {
	fields map[string]map[string]fieldSemantics
	// atomicStructs lists definitions that merge as a whole.
	atomicStructs map[string]bool
}

// fieldSemantics is what one field contributes to x-kubernetes-list-type,
// x-kubernetes-list-map-keys and x-kubernetes-map-type.
type fieldSemantics struct {
	listType string
	keys     []string
	mapType  string
}

// applySchema finds the structured-merge-diff schema client-go compiles in for
// server-side apply. It is reached through a type converter (the schema is not
// exported otherwise); the first object the schema knows yields all of it. It
// returns nil when no object is known there.
func applySchema(resources []Resource) *smdschema.Schema {
	scheme := runtime.NewScheme()
	var objects []runtime.Object
	for _, r := range resources {
		obj, ok := r.Object.(runtime.Object)
		if !ok {
			continue
		}
		gvk := kschema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
		scheme.AddKnownTypeWithName(gvk, obj)
		// A fresh object, not the caller's, gets the kind set.
		o := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
		o.GetObjectKind().SetGroupVersionKind(gvk)
		objects = append(objects, o)
	}
	if len(objects) == 0 {
		return nil
	}
	tc := applyconfigurations.NewTypeConverter(scheme)
	for _, o := range objects {
		if tv, err := tc.ObjectToTyped(o); err == nil {
			return tv.Schema()
		}
	}
	return nil
}

// newMergeSemantics indexes s; a nil s gives empty semantics.
func newMergeSemantics(s *smdschema.Schema) *mergeSemantics {
	m := &mergeSemantics{fields: map[string]map[string]fieldSemantics{}, atomicStructs: map[string]bool{}}
	if s == nil {
		return m
	}
	for _, td := range s.Types {
		if td.Map == nil || strings.HasPrefix(td.Name, "__") {
			continue
		}
		if td.Map.ElementRelationship == smdschema.Atomic {
			m.atomicStructs[td.Name] = true
		}
		fields := map[string]fieldSemantics{}
		for _, f := range td.Map.Fields {
			if fs, ok := semanticsOf(f.Type.Inlined); ok {
				fields[f.Name] = fs
			}
		}
		m.fields[td.Name] = fields
	}
	return m
}

func semanticsOf(a smdschema.Atom) (fieldSemantics, bool) {
	switch {
	case a.List != nil:
		switch {
		case a.List.ElementRelationship == smdschema.Atomic:
			return fieldSemantics{listType: "atomic"}, true
		case a.List.ElementRelationship == smdschema.Associative && len(a.List.Keys) > 0:
			return fieldSemantics{listType: "map", keys: a.List.Keys}, true
		case a.List.ElementRelationship == smdschema.Associative:
			return fieldSemantics{listType: "set"}, true
		}
	case a.Map != nil && a.Map.ElementRelationship == smdschema.Atomic:
		return fieldSemantics{mapType: "atomic"}, true
	}
	return fieldSemantics{}, false
}

// field returns the semantics of field name in definition def; known is false
// when the apply schema does not know the definition, so the caller may guess.
func (m *mergeSemantics) field(def, name string) (fs fieldSemantics, known bool) {
	fields, known := m.fields[def]
	if !known {
		return fieldSemantics{}, false
	}
	return fields[name], true
}

// guessSemantics derives list semantics from patch tags for types the apply
// schema does not know: a merge key makes a map-keyed list, merge without a key
// on scalars a set. Anything else stays unstated.
func guessSemantics(t reflect.Type, strategy, key string) fieldSemantics {
	if t.Kind() != reflect.Slice || !strings.Contains(strategy, "merge") {
		return fieldSemantics{}
	}
	if key != "" {
		return fieldSemantics{listType: "map", keys: []string{key}}
	}
	elem := t.Elem()
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	switch elem.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice:
		return fieldSemantics{}
	}
	return fieldSemantics{listType: "set"}
}
