package openapi

import (
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/util/proto/validation"
)

// TestV2ProtoModels reads the protobuf document the way kubectl does and
// checks the shape of fields it validates and patches with.
func TestV2ProtoModels(t *testing.T) {
	models, err := proto.NewOpenAPIData(decodeV2Proto(t, testSpec(t)))
	if err != nil {
		t.Fatalf("NewOpenAPIData() error = %v", err)
	}
	const core, meta = "io.k8s.api.core.v1.", "io.k8s.apimachinery.pkg.apis.meta.v1."
	tests := []struct {
		name  string
		model string
		field string // "" for the model itself
		want  string
	}{
		{name: "service", model: core + "Service", want: "object{apiVersion,kind,metadata,spec,status}"},
		{name: "service spec", model: core + "Service", field: "spec", want: "ref " + core + "ServiceSpec"},
		{name: "ports", model: core + "ServiceSpec", field: "ports", want: "[]ref " + core + "ServicePort"},
		{name: "selector", model: core + "ServiceSpec", field: "selector", want: "map[string]string"},
		{name: "port", model: core + "ServicePort", field: "port", want: "integer"},
		{name: "target port", model: core + "ServicePort", field: "targetPort", want: "ref io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{name: "int or string", model: "io.k8s.apimachinery.pkg.util.intstr.IntOrString", want: "string"},
		{name: "creation timestamp", model: meta + "ObjectMeta", field: "creationTimestamp", want: "ref " + meta + "Time"},
		{name: "time", model: meta + "Time", want: "string"},
		{name: "managed fields", model: meta + "ManagedFieldsEntry", field: "fieldsV1", want: "ref " + meta + "FieldsV1"},
		{name: "fields v1", model: meta + "FieldsV1", want: "map[string]any"},
		{name: "resource list", model: core + "ResourceRequirements", field: "limits", want: "map[string]ref io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{name: "slice endpoints", model: "io.k8s.api.discovery.v1.EndpointSlice", field: "endpoints", want: "[]ref io.k8s.api.discovery.v1.Endpoint"},
		{name: "renew time", model: "io.k8s.api.coordination.v1.LeaseSpec", field: "renewTime", want: "ref " + meta + "MicroTime"},
		{name: "patch body", model: meta + "Patch", want: "map[string]any"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := models.LookupModel(tc.model)
			if s == nil {
				t.Fatalf("LookupModel(%s) = nil", tc.model)
			}
			if tc.field != "" {
				k, ok := s.(*proto.Kind)
				if !ok {
					t.Fatalf("LookupModel(%s) = %T; want *proto.Kind", tc.model, s)
				}
				if s = k.Fields[tc.field]; s == nil {
					t.Fatalf("model %s has no field %s; fields %v", tc.model, tc.field, k.Keys())
				}
			}
			if got := shape(s); got != tc.want {
				t.Errorf("shape of %s %s = %q; want %q", tc.model, tc.field, got, tc.want)
			}
		})
	}
}

// shape summarises a parsed schema.
func shape(s proto.Schema) string {
	switch s := s.(type) {
	case *proto.Kind:
		return "object{" + strings.Join(s.Keys(), ",") + "}"
	case *proto.Array:
		return "[]" + shape(s.SubType)
	case *proto.Map:
		return "map[string]" + shape(s.SubType)
	case *proto.Primitive:
		return s.Type
	case proto.Reference:
		return "ref " + s.Reference()
	case *proto.Arbitrary:
		return "any"
	}
	return "?"
}

// TestV2Validation validates objects against the v2 models the way kubectl
// releases without server-side field validation do before sending them.
func TestV2Validation(t *testing.T) {
	models, err := proto.NewOpenAPIData(decodeV2Proto(t, testSpec(t)))
	if err != nil {
		t.Fatalf("NewOpenAPIData() error = %v", err)
	}
	tests := []struct {
		name    string
		model   string
		obj     map[string]any
		wantErr string // "" for valid
	}{
		{
			name:  "service with numeric target port",
			model: "io.k8s.api.core.v1.Service",
			obj: map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "web"}},
				"spec": map[string]any{"selector": map[string]any{"app": "web"}, "ports": []any{map[string]any{"port": int64(80), "targetPort": int64(8080)}}}},
		},
		{
			name:  "service with named target port",
			model: "io.k8s.api.core.v1.Service",
			obj:   map[string]any{"apiVersion": "v1", "kind": "Service", "spec": map[string]any{"ports": []any{map[string]any{"port": int64(80), "targetPort": "http"}}}},
		},
		{
			name:  "endpointslice without ports",
			model: "io.k8s.api.discovery.v1.EndpointSlice",
			obj:   map[string]any{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4", "metadata": map[string]any{"name": "s"}},
		},
		{
			name:    "unknown field",
			model:   "io.k8s.api.core.v1.Service",
			obj:     map[string]any{"apiVersion": "v1", "kind": "Service", "spec": map[string]any{"prots": []any{}}},
			wantErr: `unknown field "prots"`,
		},
		{
			name:    "missing port",
			model:   "io.k8s.api.core.v1.Service",
			obj:     map[string]any{"apiVersion": "v1", "kind": "Service", "spec": map[string]any{"ports": []any{map[string]any{"name": "http"}}}},
			wantErr: `missing required field "port"`,
		},
		{
			name:    "port of the wrong type",
			model:   "io.k8s.api.core.v1.Service",
			obj:     map[string]any{"apiVersion": "v1", "kind": "Service", "spec": map[string]any{"ports": []any{map[string]any{"port": true}}}},
			wantErr: `expected "integer"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := validation.ValidateModel(tc.obj, models.LookupModel(tc.model), tc.model)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
			}
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Errorf("ValidateModel() = %v; want no errors", got)
			case tc.wantErr != "" && !strings.Contains(strings.Join(got, "\n"), tc.wantErr):
				t.Errorf("ValidateModel() = %v; want an error containing %q", got, tc.wantErr)
			}
		})
	}
}
