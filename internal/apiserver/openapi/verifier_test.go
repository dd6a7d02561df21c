package openapi

import (
	"bytes"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	kschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
)

// verifierCases are the kinds kubectl asks about before create and apply.
var verifierCases = []struct {
	name      string
	gvk       kschema.GroupVersionKind
	supported bool
}{
	{name: "service", gvk: kschema.GroupVersionKind{Version: "v1", Kind: "Service"}, supported: true},
	{name: "endpoints", gvk: kschema.GroupVersionKind{Version: "v1", Kind: "Endpoints"}, supported: true},
	{name: "endpointslice", gvk: kschema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}, supported: true},
	{name: "namespace", gvk: kschema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, supported: true},
	{name: "lease", gvk: kschema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}, supported: true},
	{name: "kind not served", gvk: kschema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, supported: false},
	{name: "group not served", gvk: kschema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, supported: false},
}

func TestQueryParamVerifierV3(t *testing.T) {
	s := testSpec(t)
	client := openAPIClient(t, s)
	dyn, err := dynamic.NewForConfig(serve(t, s))
	if err != nil {
		t.Fatalf("dynamic.NewForConfig() error = %v", err)
	}
	verifier := resource.NewQueryParamVerifierV3(dyn, client, resource.QueryParamFieldValidation)
	for _, tc := range verifierCases {
		t.Run(tc.name, func(t *testing.T) {
			err := verifier.HasSupport(tc.gvk)
			if got := err == nil; got != tc.supported {
				t.Errorf("HasSupport(%v) = %v; want supported %v", tc.gvk, err, tc.supported)
			}
		})
	}
}

// openAPIGetter hands the verifier the decoded v2 document.
type openAPIGetter struct{ doc *openapi_v2.Document }

func (g openAPIGetter) OpenAPISchema() (*openapi_v2.Document, error) { return g.doc, nil }

func TestQueryParamVerifierV2(t *testing.T) {
	s := testSpec(t)
	dyn, err := dynamic.NewForConfig(serve(t, s))
	if err != nil {
		t.Fatalf("dynamic.NewForConfig() error = %v", err)
	}
	verifier := resource.NewQueryParamVerifier(dyn, openAPIGetter{doc: decodeV2Proto(t, s)}, resource.QueryParamFieldValidation)
	for _, tc := range verifierCases {
		t.Run(tc.name, func(t *testing.T) {
			err := verifier.HasSupport(tc.gvk)
			if got := err == nil; got != tc.supported {
				t.Errorf("HasSupport(%v) = %v; want supported %v", tc.gvk, err, tc.supported)
			}
		})
	}
}

// TestQueryParamVerifierV3Control checks the verifier above can fail: with the
// parameter renamed in the documents it must report no support.
func TestQueryParamVerifierV3Control(t *testing.T) {
	s := testSpec(t)
	doctored := &Spec{v3Root: s.v3Root, v3Docs: map[string][]byte{}}
	for path, doc := range s.v3Docs {
		doctored.v3Docs[path] = bytes.ReplaceAll(doc, []byte(`"name":"fieldValidation"`), []byte(`"name":"fieldValidationX"`))
	}
	dyn, err := dynamic.NewForConfig(serve(t, doctored))
	if err != nil {
		t.Fatalf("dynamic.NewForConfig() error = %v", err)
	}
	verifier := resource.NewQueryParamVerifierV3(dyn, openAPIClient(t, doctored), resource.QueryParamFieldValidation)
	gvk := kschema.GroupVersionKind{Version: "v1", Kind: "Service"}
	if err := verifier.HasSupport(gvk); !resource.IsParamUnsupportedError(err) {
		t.Errorf("HasSupport(%v) without the parameter = %v; want a ParamUnsupportedError", gvk, err)
	}
}
