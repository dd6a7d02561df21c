package openapi

import (
	"encoding/json"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/yaml"
)

// TestRoundTrip decodes every JSON document into kube-openapi's own types and
// encodes it again: nothing may be lost or misspelt on the way.
func TestRoundTrip(t *testing.T) {
	s := testSpec(t)
	type doc struct {
		name string
		data []byte
		into any
	}
	docs := []doc{{name: "v2", data: s.V2JSON(), into: &spec.Swagger{}}}
	for _, p := range s.V3Paths() {
		data, _ := s.V3Doc(p)
		docs = append(docs, doc{name: "v3 " + p, data: data, into: &spec3.OpenAPI{}})
	}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			if err := json.Unmarshal(d.data, d.into); err != nil {
				t.Fatalf("json.Unmarshal() error = %v", err)
			}
			again, err := json.Marshal(d.into)
			if err != nil {
				t.Fatalf("json.Marshal() error = %v", err)
			}
			var want, got any
			if err := json.Unmarshal(d.data, &want); err != nil {
				t.Fatalf("json.Unmarshal(original) error = %v", err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatalf("json.Unmarshal(re-encoded) error = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("re-encoded document differs (-original +re-encoded):\n%s", diff)
			}
		})
	}
}

// TestV2ProtoMatchesJSON compares the protobuf document with what gnostic
// compiles from the JSON one, as kube-apiserver derives its protobuf.
func TestV2ProtoMatchesJSON(t *testing.T) {
	s := testSpec(t)
	want, err := openapi_v2.ParseDocument(s.V2JSON())
	if err != nil {
		t.Fatalf("ParseDocument(V2JSON()) error = %v", err)
	}
	got := decodeV2Proto(t, s)
	canonicalExtensions(t, want)
	canonicalExtensions(t, got)
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("V2Proto() differs from the compiled V2JSON() (-compiled +V2Proto):\n%s", diff)
	}
}

// canonicalExtensions rewrites the YAML text of every vendor extension in m
// as sorted JSON, so that equal values compare equal however they were spelt.
func canonicalExtensions(t *testing.T, m proto.Message) {
	t.Helper()
	if a, ok := m.(*openapi_v2.Any); ok {
		j, err := yaml.YAMLToJSON([]byte(a.Yaml))
		if err != nil {
			t.Fatalf("YAMLToJSON(%q) error = %v", a.Yaml, err)
		}
		a.Yaml = string(j)
		return
	}
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.IsList():
			for i := range v.List().Len() {
				canonicalExtensions(t, v.List().Get(i).Message().Interface())
			}
		default:
			canonicalExtensions(t, v.Message().Interface())
		}
		return true
	})
}
