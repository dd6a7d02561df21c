package openapi

import (
	"bytes"
	"strings"
	"testing"

	kschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/util/proto"
	explainv1 "k8s.io/kubectl/pkg/explain"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kubectlopenapi "k8s.io/kubectl/pkg/util/openapi"
)

var explainCases = []struct {
	name   string
	gvr    kschema.GroupVersionResource
	gvk    kschema.GroupVersionKind
	fields []string
	// want lists lines (trimmed) the output must contain, in order, for the
	// v3 and the older v2 explain.
	wantV3, wantV2 []string
}{
	{
		name:   "service",
		gvr:    kschema.GroupVersionResource{Version: "v1", Resource: "services"},
		gvk:    kschema.GroupVersionKind{Version: "v1", Kind: "Service"},
		wantV3: []string{"KIND:       Service", "VERSION:    v1", "DESCRIPTION:", "FIELDS:", "apiVersion\t<string>", "metadata\t<ObjectMeta>", "spec\t<ServiceSpec>", "status\t<ServiceStatus>"},
		wantV2: []string{"KIND:     Service", "VERSION:  v1", "DESCRIPTION:", "FIELDS:", "apiVersion\t<string>", "metadata\t<Object>", "spec\t<Object>"},
	},
	{
		name:   "service ports",
		gvr:    kschema.GroupVersionResource{Version: "v1", Resource: "services"},
		gvk:    kschema.GroupVersionKind{Version: "v1", Kind: "Service"},
		fields: []string{"spec", "ports"},
		wantV3: []string{"FIELD: ports <[]ServicePort>", "DESCRIPTION:", "FIELDS:", "port\t<integer> -required-", "targetPort\t<IntOrString>"},
		wantV2: []string{"RESOURCE: ports <[]Object>", "DESCRIPTION:", "FIELDS:", "port\t<integer> -required-", "targetPort\t<string>"},
	},
	{
		name:   "node",
		gvr:    kschema.GroupVersionResource{Version: "v1", Resource: "nodes"},
		gvk:    kschema.GroupVersionKind{Version: "v1", Kind: "Node"},
		fields: []string{"spec", "taints"},
		wantV3: []string{"KIND:       Node", "FIELD: taints <[]Taint>", "effect\t<string> -required-", "key\t<string> -required-", "timeAdded\t<string>"},
		wantV2: []string{"KIND:     Node", "RESOURCE: taints <[]Object>", "effect\t<string> -required-", "key\t<string> -required-", "timeAdded\t<string>"},
	},
	{
		name:   "endpointslice",
		gvr:    kschema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"},
		gvk:    kschema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"},
		wantV3: []string{"GROUP:      discovery.k8s.io", "KIND:       EndpointSlice", "addressType\t<string> -required-", "endpoints\t<[]Endpoint>"},
		wantV2: []string{"KIND:     EndpointSlice", "addressType\t<string> -required-", "endpoints\t<[]Object>"},
	},
}

// TestExplain renders kubectl explain output from both document versions.
func TestExplain(t *testing.T) {
	s := testSpec(t)
	client := openAPIClient(t, s)
	resources, err := kubectlopenapi.NewOpenAPIData(decodeV2Proto(t, s))
	if err != nil {
		t.Fatalf("NewOpenAPIData() error = %v", err)
	}
	for _, tc := range explainCases {
		t.Run(tc.name+" v3", func(t *testing.T) {
			var out bytes.Buffer
			if err := explainv2.PrintModelDescription(tc.fields, &out, client, tc.gvr, false, 0, "plaintext"); err != nil {
				t.Fatalf("PrintModelDescription(%v) error = %v", tc.fields, err)
			}
			containsInOrder(t, out.String(), tc.wantV3)
		})
		t.Run(tc.name+" v2", func(t *testing.T) {
			var out bytes.Buffer
			var model proto.Schema = resources.LookupResource(tc.gvk)
			if model == nil {
				t.Fatalf("LookupResource(%v) = nil", tc.gvk)
			}
			if err := explainv1.PrintModelDescription(tc.fields, &out, model, tc.gvk, false, 0); err != nil {
				t.Fatalf("PrintModelDescription(%v) error = %v", tc.fields, err)
			}
			containsInOrder(t, out.String(), tc.wantV2)
		})
	}
}

func containsInOrder(t *testing.T, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("output lacks %q (after the lines before it); output:\n%s", w, out)
			return
		}
		rest = rest[i+len(w):]
	}
}
