package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	kschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/openapi3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	kubectlopenapi "k8s.io/kubectl/pkg/util/openapi"
)

// patchCases are three-way merges as client-side kubectl apply computes them
// (overwriting conflicts, its default):
// last applied, new manifest, live object.
var patchCases = []struct {
	name                        string
	gvk                         kschema.GroupVersionKind
	object                      any // for the Go struct lookup
	original, modified, current string
}{
	{
		name:     "service port added keeps allocated node ports",
		gvk:      kschema.GroupVersionKind{Version: "v1", Kind: "Service"},
		object:   &corev1.Service{},
		original: `{"spec":{"type":"NodePort","ports":[{"port":80,"targetPort":8080}]}}`,
		modified: `{"spec":{"type":"NodePort","ports":[{"port":80,"targetPort":8080},{"port":443,"targetPort":"https"}]}}`,
		current:  `{"spec":{"type":"NodePort","clusterIP":"10.0.0.7","ports":[{"port":80,"targetPort":8080,"nodePort":30080,"protocol":"TCP"}]}}`,
	},
	{
		name:     "service port removed and another changed",
		gvk:      kschema.GroupVersionKind{Version: "v1", Kind: "Service"},
		object:   &corev1.Service{},
		original: `{"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}],"selector":{"app":"web","tier":"fe"}}}`,
		modified: `{"spec":{"ports":[{"port":443,"name":"tls"}],"selector":{"app":"web"}}}`,
		current:  `{"spec":{"ports":[{"port":80,"name":"http","protocol":"TCP"},{"port":443,"name":"https","protocol":"TCP"},{"port":9090,"name":"metrics"}],"selector":{"app":"web","tier":"fe"}}}`,
	},
	{
		name:     "metadata labels, finalizers and owner references",
		gvk:      kschema.GroupVersionKind{Version: "v1", Kind: "Service"},
		object:   &corev1.Service{},
		original: `{"metadata":{"labels":{"a":"1"},"finalizers":["x/one"],"ownerReferences":[{"uid":"u1","kind":"K","name":"n","apiVersion":"v1"}]}}`,
		modified: `{"metadata":{"labels":{"b":"2"},"finalizers":["x/two"],"ownerReferences":[{"uid":"u2","kind":"K","name":"m","apiVersion":"v1"}]}}`,
		current:  `{"metadata":{"labels":{"a":"1","c":"3"},"finalizers":["x/one","x/live"],"ownerReferences":[{"uid":"u1","kind":"K","name":"n","apiVersion":"v1"}]}}`,
	},
	{
		name:     "pod containers by name and their ports by containerPort",
		gvk:      kschema.GroupVersionKind{Version: "v1", Kind: "Pod"},
		object:   &corev1.Pod{},
		original: `{"spec":{"containers":[{"name":"app","image":"a:1","ports":[{"containerPort":80}],"env":[{"name":"A","value":"1"}]}]}}`,
		modified: `{"spec":{"containers":[{"name":"app","image":"a:2","ports":[{"containerPort":80},{"containerPort":81}],"env":[{"name":"B","value":"2"}]},{"name":"side","image":"s:1"}]}}`,
		current:  `{"spec":{"nodeName":"n1","containers":[{"name":"app","image":"a:1","ports":[{"containerPort":80,"protocol":"TCP"}],"env":[{"name":"A","value":"1"}],"terminationMessagePath":"/dev/termination-log"}]}}`,
	},
	{
		name:     "endpoints subsets are replaced",
		gvk:      kschema.GroupVersionKind{Version: "v1", Kind: "Endpoints"},
		object:   &corev1.Endpoints{},
		original: `{"subsets":[{"addresses":[{"ip":"10.1.0.1"}],"ports":[{"port":80}]}]}`,
		modified: `{"subsets":[{"addresses":[{"ip":"10.1.0.2"}],"ports":[{"port":80}]}]}`,
		current:  `{"subsets":[{"addresses":[{"ip":"10.1.0.1"}],"ports":[{"port":80,"protocol":"TCP"}]}]}`,
	},
	{
		name:     "endpointslice endpoints list is atomic",
		gvk:      kschema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"},
		object:   &discoveryv1.EndpointSlice{},
		original: `{"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.1"]}],"ports":[{"port":80}]}`,
		modified: `{"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.2"],"conditions":{"ready":true}}],"ports":[{"port":80,"name":"http"}]}`,
		current:  `{"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.1"],"nodeName":"n1"}],"ports":[{"port":80}]}`,
	},
	{
		name:     "node taints by key",
		gvk:      kschema.GroupVersionKind{Version: "v1", Kind: "Node"},
		object:   &corev1.Node{},
		original: `{"spec":{"taints":[{"key":"a","effect":"NoSchedule"}]}}`,
		modified: `{"spec":{"taints":[{"key":"b","effect":"NoExecute"}],"podCIDRs":["10.2.0.0/24"]}}`,
		current:  `{"spec":{"taints":[{"key":"a","effect":"NoSchedule"},{"key":"node.kubernetes.io/unreachable","effect":"NoExecute"}]}}`,
	},
	{
		name:     "lease holder changes",
		gvk:      kschema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"},
		object:   &coordinationv1.Lease{},
		original: `{"spec":{"holderIdentity":"a","leaseDurationSeconds":15}}`,
		modified: `{"spec":{"holderIdentity":"b"}}`,
		current:  `{"spec":{"holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":3}}`,
	},
}

// TestStrategicMergePatch checks that patches computed from the documents, as
// kubectl apply computes them from v3 and (older releases) from v2, equal the
// ones computed from the Go structs.
func TestStrategicMergePatch(t *testing.T) {
	s := testSpec(t)
	root := openapi3.NewRoot(openAPIClient(t, s))
	v2, err := kubectlopenapi.NewOpenAPIData(decodeV2Proto(t, s))
	if err != nil {
		t.Fatalf("NewOpenAPIData() error = %v", err)
	}
	for _, tc := range patchCases {
		t.Run(tc.name, func(t *testing.T) {
			original, modified, current := []byte(tc.original), []byte(tc.modified), []byte(tc.current)
			structMeta, err := strategicpatch.NewPatchMetaFromStruct(tc.object)
			if err != nil {
				t.Fatalf("NewPatchMetaFromStruct() error = %v", err)
			}
			want, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, structMeta, true)
			if err != nil {
				t.Fatalf("CreateThreeWayMergePatch(struct) error = %v", err)
			}

			gvSpec, err := root.GVSpec(tc.gvk.GroupVersion())
			if err != nil {
				t.Fatalf("GVSpec(%v) error = %v", tc.gvk.GroupVersion(), err)
			}
			v3Meta := strategicpatch.PatchMetaFromOpenAPIV3{Schema: componentFor(t, gvSpec.Components.Schemas, tc.gvk), SchemaList: gvSpec.Components.Schemas}
			got, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, v3Meta, true)
			if err != nil {
				t.Fatalf("CreateThreeWayMergePatch(v3) error = %v", err)
			}
			if !jsonEqual(t, got, want) {
				t.Errorf("patch from v3 = %s; want %s", got, want)
			}

			model := v2.LookupResource(tc.gvk)
			if model == nil {
				t.Fatalf("v2 LookupResource(%v) = nil", tc.gvk)
			}
			got, err = strategicpatch.CreateThreeWayMergePatch(original, modified, current, strategicpatch.NewPatchMetaFromOpenAPI(model), true)
			if err != nil {
				t.Fatalf("CreateThreeWayMergePatch(v2) error = %v", err)
			}
			if !jsonEqual(t, got, want) {
				t.Errorf("patch from v2 = %s; want %s", got, want)
			}
			if consumes := v2.GetConsumes(tc.gvk, "PATCH"); !slices.Contains(consumes, string(types.StrategicMergePatchType)) {
				t.Errorf("v2 GetConsumes(%v, PATCH) = %v; want it to include %s", tc.gvk, consumes, types.StrategicMergePatchType)
			}
		})
	}
}

// componentFor finds the component of gvk through its extension, as kubectl
// apply does.
func componentFor(t *testing.T, schemas map[string]*spec.Schema, gvk kschema.GroupVersionKind) *spec.Schema {
	t.Helper()
	for _, s := range schemas {
		var gvks []map[string]string
		if err := s.Extensions.GetObject("x-kubernetes-group-version-kind", &gvks); err != nil {
			continue
		}
		for _, g := range gvks {
			if g["group"] == gvk.Group && g["version"] == gvk.Version && g["kind"] == gvk.Kind {
				return s
			}
		}
	}
	t.Fatalf("no component carries %v", gvk)
	return nil
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("json.Unmarshal(%s) error = %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("json.Unmarshal(%s) error = %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}
