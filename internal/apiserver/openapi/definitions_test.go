package openapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSchemas checks how Go types come out in both dialects.
func TestSchemas(t *testing.T) {
	type sample struct {
		Name     string            `json:"name"`
		Count    *int32            `json:"count,omitempty"`
		Big      int64             `json:"big,omitempty"`
		Ratio    float64           `json:"ratio,omitempty"`
		Data     []byte            `json:"data,omitempty"`
		Labels   map[string]string `json:"labels,omitempty"`
		Any      any               `json:"any,omitempty"`
		Skipped  string            `json:"-"`
		internal string
		// Hidden by Name above, and not lending its name or docs to sample.
		corev1.LocalObjectReference `json:",inline"`
		metav1.TypeMeta             `json:",inline"`
	}
	defs := newDefinitions(newMergeSemantics(nil))
	name, err := defs.define(reflect.TypeFor[sample]())
	if err != nil {
		t.Fatalf("define() error = %v", err)
	}
	if name != "com.github.svcnet.svcnet.internal.apiserver.openapi.sample" {
		t.Errorf("define() = %q; want the reversed package path", name)
	}
	for _, t := range []reflect.Type{reflect.TypeFor[metav1.Time](), reflect.TypeFor[corev1.ServicePort](), reflect.TypeFor[metav1.ManagedFieldsEntry]()} {
		_, _ = defs.define(t)
	}
	const meta = "io.k8s.apimachinery.pkg.apis.meta.v1."
	tests := []struct {
		name     string
		def      string
		property string // "" for the definition itself
		want     string // JSON, v2 dialect
		wantV3   string // JSON, v3 dialect, when it differs
	}{
		{name: "required string", def: name, property: "name", want: `{"type":"string"}`},
		{name: "pointer", def: name, property: "count", want: `{"type":"integer","format":"int32"}`},
		{name: "int64", def: name, property: "big", want: `{"type":"integer","format":"int64"}`},
		{name: "float", def: name, property: "ratio", want: `{"type":"number","format":"double"}`},
		{name: "bytes", def: name, property: "data", want: `{"type":"string","format":"byte"}`},
		{name: "string map", def: name, property: "labels", want: `{"type":"object","additionalProperties":{"type":"string"}}`},
		{name: "interface", def: name, property: "any", want: `{}`},
		{name: "inlined field", def: name, property: "kind", want: `{"type":"string","description":` + quote(metav1.TypeMeta{}.SwaggerDoc()["kind"]) + `}`},
		{name: "time", def: meta + "Time", want: `{"description":"A point in time, written in RFC 3339 form with second precision.","type":"string","format":"date-time"}`},
		{
			name: "int or string", def: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
			want:   `{"description":"Either a 32-bit integer or a string, for example a port number or the name of a port.","type":"string","format":"int-or-string","x-kubernetes-int-or-string":true}`,
			wantV3: `{"description":"Either a 32-bit integer or a string, for example a port number or the name of a port.","format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}],"x-kubernetes-int-or-string":true}`,
		},
		{
			name: "reference with description", def: "io.k8s.api.core.v1.ServicePort", property: "targetPort",
			want:   `{"$ref":"#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString","description":` + quote(corev1.ServicePort{}.SwaggerDoc()["targetPort"]) + `}`,
			wantV3: `{"description":` + quote(corev1.ServicePort{}.SwaggerDoc()["targetPort"]) + `,"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]}`,
		},
		{name: "free-form object", def: meta + "FieldsV1", want: `{"description":` + quote(metav1.FieldsV1{}.SwaggerDoc()[""]) + `,"type":"object"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := defs.byName[tc.def]
			if s == nil {
				t.Fatalf("definition %s missing", tc.def)
			}
			if tc.property != "" {
				if s = s.properties[tc.property]; s == nil {
					t.Fatalf("definition %s has no property %s", tc.def, tc.property)
				}
			}
			if tc.wantV3 == "" {
				tc.wantV3 = tc.want
			}
			for _, d := range []struct {
				dialect dialect
				want    string
			}{{dialect: swagger2, want: tc.want}, {dialect: openAPI3, want: tc.wantV3}} {
				got, err := json.Marshal(d.dialect.render(s))
				if err != nil {
					t.Fatalf("json.Marshal() error = %v", err)
				}
				if !jsonEqual(t, got, []byte(d.want)) {
					t.Errorf("render(v3=%v) = %s; want %s", d.dialect.v3, got, d.want)
				}
			}
		})
	}
	sampleDef := defs.byName[name]
	if want := []string{"name"}; !slices.Equal(sampleDef.required, want) {
		t.Errorf("required = %v; want %v", sampleDef.required, want)
	}
	wantProps := []string{"any", "apiVersion", "big", "count", "data", "kind", "labels", "name", "ratio"}
	if got := slices.Sorted(maps.Keys(sampleDef.properties)); !slices.Equal(got, wantProps) {
		t.Errorf("properties = %v; want %v", got, wantProps)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestListSemantics checks the extensions taken from the apply schema, and
// the guesses from patch tags when it does not know a type.
func TestListSemantics(t *testing.T) {
	known := testSpec(t)
	var doc struct {
		Components struct {
			Schemas map[string]*jsonSchema `json:"schemas"`
		} `json:"components"`
	}
	data, _ := known.V3Doc("api/v1")
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("json.Unmarshal() error = %v", err)
	}
	guessed := newDefinitions(newMergeSemantics(nil))
	if _, err := guessed.define(reflect.TypeFor[corev1.Service]()); err != nil {
		t.Fatalf("define() error = %v", err)
	}
	tests := []struct {
		name, def, property string
		want                string // listType/keys/mapType from the apply schema
		wantGuess           string // the same without it
	}{
		{name: "service ports", def: "io.k8s.api.core.v1.ServiceSpec", property: "ports", want: "map[port protocol]", wantGuess: "map[port]"},
		{name: "service selector", def: "io.k8s.api.core.v1.ServiceSpec", property: "selector", want: "/atomic", wantGuess: ""},
		{name: "cluster IPs", def: "io.k8s.api.core.v1.ServiceSpec", property: "clusterIPs", want: "atomic[]", wantGuess: ""},
		{name: "finalizers", def: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", property: "finalizers", want: "set[]", wantGuess: "set[]"},
		{name: "owner references", def: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", property: "ownerReferences", want: "map[uid]", wantGuess: "map[uid]"},
		{name: "labels", def: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", property: "labels", want: "", wantGuess: ""},
		{name: "atomic struct", def: "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", want: "/atomic", wantGuess: ""},
	}
	summary := func(listType string, keys []string, mapType string) string {
		s := ""
		if listType != "" {
			s = listType + "[" + strings.Join(keys, " ") + "]"
		}
		if mapType != "" {
			s += "/" + mapType
		}
		return s
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := doc.Components.Schemas[tc.def]
			g := guessed.byName[tc.def]
			if j == nil || g == nil {
				t.Fatalf("definition %s missing", tc.def)
			}
			if tc.property != "" {
				j, g = j.Properties[tc.property], g.properties[tc.property]
			}
			if got := summary(j.ListType, j.ListMapKeys, j.MapType); got != tc.want {
				t.Errorf("from the apply schema: %q; want %q", got, tc.want)
			}
			if got := summary(g.ext.listType, g.ext.listMapKeys, g.ext.mapType); got != tc.wantGuess {
				t.Errorf("guessed: %q; want %q", got, tc.wantGuess)
			}
		})
	}
}

// TestOptionalFields reads the Go sources of every served type: a field
// documented +optional must not be required, which for fields without
// omitempty only optionalField can arrange.
func TestOptionalFields(t *testing.T) {
	defs := newDefinitions(newMergeSemantics(nil))
	for _, r := range testResources() {
		for _, v := range []any{r.Object, r.List} {
			if _, err := defs.define(reflect.TypeOf(v).Elem()); err != nil {
				t.Fatalf("define(%T) error = %v", v, err)
			}
		}
	}
	pkgs := map[string]bool{}
	for typ := range defs.names {
		pkgs[typ.PkgPath()] = true
	}
	optional := optionalInSource(t, slices.Sorted(maps.Keys(pkgs)))
	for typ, name := range defs.names {
		for field, declaring := range declaringTypes(typ) {
			if optional[declaring.PkgPath()+"."+declaring.Name()+"."+field] && slices.Contains(defs.byName[name].required, field) {
				t.Errorf("%s.%s is +optional in its source but required; add it to optionalField", name, field)
			}
		}
	}
}

// declaringTypes maps the JSON names of t's fields to the struct declaring them,
// which differs from t for inlined structs.
func declaringTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k, v := range declaringTypes(indirect(f.Type)) {
				out[k] = v
			}
			continue
		}
		if name != "" && name != "-" {
			out[name] = t
		}
	}
	return out
}

// optionalInSource returns package.Type.jsonName for every field of pkgs whose
// comment carries +optional.
func optionalInSource(t *testing.T, pkgs []string) map[string]bool {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to locate sources")
	}
	out, err := exec.Command(goTool, append([]string{"list", "-f", "{{.ImportPath}} {{.Dir}}"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list error = %v", err)
	}
	optional := map[string]bool{}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		pkg, dir, _ := strings.Cut(strings.TrimSpace(line), " ")
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
			if err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, field := range st.Fields.List {
					if field.Tag == nil || field.Doc == nil || !strings.Contains(field.Doc.Text()+commentText(field.Doc), "+optional") {
						continue
					}
					name, _, _ := strings.Cut(reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("json"), ",")
					optional[pkg+"."+ts.Name.Name+"."+name] = true
				}
				return true
			})
		}
	}
	return optional
}

// commentText keeps the directive-like lines that CommentGroup.Text drops.
func commentText(g *ast.CommentGroup) string {
	var b strings.Builder
	for _, c := range g.List {
		b.WriteString(c.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
