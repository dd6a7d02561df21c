package openapi

import (
	"fmt"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kube-openapi/pkg/util"
)

// The methods below are how Go types describe themselves to OpenAPI tooling;
// k8s.io/api and apimachinery implement them with value receivers.
type (
	// modelNamer gives the definition name (io.k8s.api.core.v1.Service).
	modelNamer interface{ OpenAPIModelName() string }
	// swaggerDocumented maps JSON field names to descriptions; "" is the type.
	swaggerDocumented interface{ SwaggerDoc() map[string]string }
	// primitiveTyped marks types whose JSON is a primitive (Time, Quantity).
	primitiveTyped interface {
		OpenAPISchemaType() []string
		OpenAPISchemaFormat() string
	}
	// oneOfTyped lists the alternatives v3 documents may spell out.
	oneOfTyped interface{ OpenAPIV3OneOfTypes() []string }
)

// definitions turns Go types into named schemas. It is not safe for
// concurrent use.
type definitions struct {
	byName map[string]*schema
	names  map[reflect.Type]string
	merge  *mergeSemantics
}

func newDefinitions(merge *mergeSemantics) *definitions {
	return &definitions{byName: map[string]*schema{}, names: map[reflect.Type]string{}, merge: merge}
}

// define returns the definition name of the named struct type t, building the
// definition and everything it references on first use.
func (d *definitions) define(t reflect.Type) (string, error) {
	if name, ok := d.names[t]; ok {
		return name, nil
	}
	name := definitionName(t)
	if _, taken := d.byName[name]; taken {
		return "", fmt.Errorf("definition %s: two Go types share the name", name)
	}
	s := &schema{description: typeDescription(t)}
	// Register before walking the fields so recursive types terminate.
	d.names[t] = name
	d.byName[name] = s
	if err := d.describeStruct(t, name, s); err != nil {
		return "", fmt.Errorf("definition %s: %w", name, err)
	}
	if d.merge.atomicStructs[name] {
		s.ext.mapType = "atomic"
	}
	return name, nil
}

// describeStruct fills s from t: the primitive a self-describing type stands
// for, a free-form object, or the properties of its JSON fields.
func (d *definitions) describeStruct(t reflect.Type, name string, s *schema) error {
	if types, ok := ownMethod(t, primitiveTyped.OpenAPISchemaType); ok {
		if len(types) == 1 {
			s.typ = types[0]
		}
		s.format, _ = ownMethod(t, primitiveTyped.OpenAPISchemaFormat)
		s.oneOfTypes, _ = ownMethod(t, oneOfTyped.OpenAPIV3OneOfTypes)
		s.ext.intOrString = s.format == "int-or-string"
		return nil
	}
	if freeForm(t) {
		s.typ = "object"
		return nil
	}
	s.typ = "object"
	s.properties = map[string]*schema{}
	return d.addFields(t, name, s)
}

// addFields adds the JSON fields of struct t to s; owner is the definition
// they end up in, whose apply semantics apply.
func (d *definitions) addFields(t reflect.Type, owner string, s *schema) error {
	for _, f := range jsonFields(t) {
		fs, err := d.schemaOf(f.field.Type)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
		fs.description = f.docs[f.name]
		strategy, key := f.field.Tag.Get("patchStrategy"), f.field.Tag.Get("patchMergeKey")
		fs.ext.patchStrategy, fs.ext.patchMergeKey = strategy, key
		sem, known := d.merge.field(owner, f.name)
		if !known {
			sem = guessSemantics(f.field.Type, strategy, key)
		}
		fs.ext.listType, fs.ext.listMapKeys, fs.ext.mapType = sem.listType, sem.keys, sem.mapType
		s.properties[f.name] = fs
		if !hasOption(f.opts, "omitempty") && !hasOption(f.opts, "omitzero") && !optionalField(owner, f.name) {
			s.required = append(s.required, f.name)
		}
	}
	return nil
}

// jsonField is one struct field as encoding/json sees it.
type jsonField struct {
	name, opts string
	field      reflect.StructField
	docs       map[string]string // SwaggerDoc of the declaring struct
	depth      int               // how deeply inlined
}

// jsonFields lists the JSON fields of struct t in declaration order, with
// inlined (embedded) structs expanded. As in encoding/json, a shallower field
// hides deeper ones of the same name; of equally deep ones the first stays.
func jsonFields(t reflect.Type) []jsonField {
	all := collectFields(t, 0, nil)
	shallowest := map[string]int{}
	for _, f := range all {
		if d, ok := shallowest[f.name]; !ok || f.depth < d {
			shallowest[f.name] = f.depth
		}
	}
	var out []jsonField
	taken := map[string]bool{}
	for _, f := range all {
		if f.depth == shallowest[f.name] && !taken[f.name] {
			taken[f.name] = true
			out = append(out, f)
		}
	}
	return out
}

func collectFields(t reflect.Type, depth int, out []jsonField) []jsonField {
	docs := swaggerDoc(t)
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if ft := indirect(f.Type); f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = collectFields(ft, depth+1, out)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, opts: opts, field: f, docs: docs, depth: depth})
	}
	return out
}

// schemaOf returns a fresh schema for a value of type t: inline for
// primitives, lists and maps, a reference for named structs.
func (d *definitions) schemaOf(t reflect.Type) (*schema, error) {
	t = indirect(t)
	switch t.Kind() {
	case reflect.Struct:
		if t.Name() == "" {
			s := &schema{typ: "object", properties: map[string]*schema{}}
			return s, d.addFields(t, "", s)
		}
		name, err := d.define(t)
		if err != nil {
			return nil, err
		}
		return &schema{ref: name}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{typ: "string", format: "byte"}, nil
		}
		items, err := d.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{typ: "array", items: items}, nil
	case reflect.Map:
		values, err := d.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{typ: "object", additional: values}, nil
	case reflect.Interface:
		return &schema{}, nil
	}
	typ, format, ok := primitive(t.Kind())
	if !ok {
		return nil, fmt.Errorf("go type %s has no JSON form", t)
	}
	return &schema{typ: typ, format: format}, nil
}

// primitive maps scalar Go kinds to OpenAPI types and formats the way the
// Kubernetes generator does.
func primitive(k reflect.Kind) (typ, format string, ok bool) {
	switch k {
	case reflect.String:
		return "string", "", true
	case reflect.Bool:
		return "boolean", "", true
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int, reflect.Uint8, reflect.Uint16:
		return "integer", "int32", true
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return "integer", "int64", true
	case reflect.Float32:
		return "number", "float", true
	case reflect.Float64:
		return "number", "double", true
	}
	return "", "", false
}

// freeForm reports types whose JSON is an object of any shape, which their Go
// fields do not describe.
func freeForm(t reflect.Type) bool {
	return t == reflect.TypeFor[runtime.RawExtension]() || t == reflect.TypeFor[metav1.FieldsV1]()
}

// definitionName names a definition as Kubernetes does: the type's own model
// name, else its package path with the domain reversed.
func definitionName(t reflect.Type) string {
	if name, ok := ownMethod(t, modelNamer.OpenAPIModelName); ok {
		return name
	}
	return util.ToRESTFriendlyName(t.PkgPath() + "." + t.Name())
}

func swaggerDoc(t reflect.Type) map[string]string {
	docs, _ := ownMethod(t, swaggerDocumented.SwaggerDoc)
	return docs
}

// ownMethod calls method on a zero value of struct type t, when t implements
// interface I. A method promoted from an embedded struct describes that struct,
// not t, so a result equal to an embedded field's counts as not t's own.
func ownMethod[I, R any](t reflect.Type, method func(I) R) (result R, ok bool) {
	v, ok := reflect.New(t).Interface().(I)
	if !ok {
		return result, false
	}
	result = method(v)
	if t.Kind() != reflect.Struct {
		return result, true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Anonymous {
			continue
		}
		if e, ok := reflect.New(indirect(f.Type)).Interface().(I); ok && reflect.DeepEqual(method(e), result) {
			var zero R
			return zero, false
		}
	}
	return result, true
}

// typeDescription is the SwaggerDoc summary of t, or our own words for the
// apimachinery types that carry none.
func typeDescription(t reflect.Type) string {
	if s := swaggerDoc(t)[""]; s != "" {
		return s
	}
	switch definitionName(t) {
	case "io.k8s.apimachinery.pkg.apis.meta.v1.Time":
		return "A point in time, written in RFC 3339 form with second precision."
	case "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":
		return "A point in time, written in RFC 3339 form with microsecond precision."
	case "io.k8s.apimachinery.pkg.apis.meta.v1.Duration":
		return "A length of time in Go duration syntax, for example 1m30s."
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return "A fixed-point amount with an optional suffix: a binary (Ki, Mi, Gi...) or decimal (m, k, M, G...) unit or an exponent, for example 500m, 1.5Gi or 2e3. Plain numbers are accepted as well."
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return "Either a 32-bit integer or a string, for example a port number or the name of a port."
	case "io.k8s.apimachinery.pkg.runtime.RawExtension":
		return "An embedded object of any kind, kept exactly as given."
	}
	return ""
}

// optionalField lists the fields that are optional although their JSON tag
// lacks omitempty; the Go types record that only in source comments, which
// reflection cannot see. Without the list, old kubectl releases would reject
// objects that leave these fields out.
func optionalField(def, field string) bool {
	switch def + "." + field {
	case "io.k8s.api.core.v1.AzureFilePersistentVolumeSource.secretNamespace",
		"io.k8s.api.core.v1.ContainerImage.names",
		"io.k8s.api.core.v1.Event.reportingComponent",
		"io.k8s.api.core.v1.Event.reportingInstance",
		"io.k8s.api.core.v1.GRPCAction.service",
		"io.k8s.api.core.v1.NodeRuntimeHandler.name",
		"io.k8s.api.core.v1.ProjectedVolumeSource.sources",
		"io.k8s.api.core.v1.TypedLocalObjectReference.apiGroup",
		"io.k8s.api.core.v1.TypedObjectReference.apiGroup",
		"io.k8s.api.discovery.v1.EndpointSlice.endpoints",
		"io.k8s.api.discovery.v1.EndpointSlice.ports":
		return true
	}
	return false
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}
