package openapi

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestV3Root(t *testing.T) {
	s := testSpec(t)
	wantPaths := []string{"api/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1"}
	if got := s.V3Paths(); !slices.Equal(got, wantPaths) {
		t.Fatalf("V3Paths() = %v; want %v", got, wantPaths)
	}
	var root struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(s.V3Root(), &root); err != nil {
		t.Fatalf("json.Unmarshal(V3Root()) error = %v", err)
	}
	for _, p := range wantPaths {
		t.Run(p, func(t *testing.T) {
			u, err := url.Parse(root.Paths[p].ServerRelativeURL)
			if err != nil {
				t.Fatalf("url.Parse(%q) error = %v", root.Paths[p].ServerRelativeURL, err)
			}
			if want := "/openapi/v3/" + p; u.Path != want {
				t.Errorf("root URL path of %s = %q; want %q", p, u.Path, want)
			}
			hash := s.V3Hash(p)
			if got := u.Query().Get("hash"); got != hash || len(hash) != 128 {
				t.Errorf("root URL hash of %s = %q; want V3Hash() %q of 128 hex digits", p, got, hash)
			}
			doc, ok := s.V3Doc(p)
			if !ok || hashOf(doc) != hash {
				t.Errorf("V3Doc(%s) ok %v, hash %s; want the document V3Hash() = %s names", p, ok, hashOf(doc), hash)
			}
		})
	}
	if _, ok := s.V3Doc("apis/apps/v1"); ok {
		t.Errorf("V3Doc(apis/apps/v1) ok = true; want false")
	}
	if got := s.V3Hash("apis/apps/v1"); got != "" {
		t.Errorf("V3Hash(apis/apps/v1) = %q; want empty", got)
	}
}

// TestDeterministic builds twice: clients cache by hash, so equal input must
// give equal bytes.
func TestDeterministic(t *testing.T) {
	a, b := testSpec(t), testSpec(t)
	for _, p := range a.V3Paths() {
		if a.V3Hash(p) != b.V3Hash(p) {
			t.Errorf("V3Hash(%s) differs between builds: %s and %s", p, a.V3Hash(p), b.V3Hash(p))
		}
	}
	if string(a.V2JSON()) != string(b.V2JSON()) || string(a.V2Proto()) != string(b.V2Proto()) {
		t.Errorf("v2 documents differ between builds")
	}
	if a.V2Hash() != hashOf(a.V2JSON()) {
		t.Errorf("V2Hash() = %s; want the hash of V2JSON() %s", a.V2Hash(), hashOf(a.V2JSON()))
	}
}

// TestOperations checks the operations of a few paths: their IDs, actions and
// kinds, and the parameters kubectl looks for.
func TestOperations(t *testing.T) {
	doc, _ := testSpec(t).V3Doc("api/v1")
	var parsed struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatalf("json.Unmarshal() error = %v", err)
	}
	tests := []struct {
		name, path, method string
		wantID, wantAction string
		wantKind           string
		wantParams         []string
	}{
		{name: "list services", path: "/api/v1/namespaces/{namespace}/services", method: "get", wantID: "listCoreV1NamespacedService", wantAction: "list", wantKind: "Service", wantParams: []string{"labelSelector", "watch"}},
		{name: "list services everywhere", path: "/api/v1/services", method: "get", wantID: "listCoreV1ServiceForAllNamespaces", wantAction: "list", wantKind: "Service", wantParams: []string{"fieldSelector", "watch"}},
		{name: "create service", path: "/api/v1/namespaces/{namespace}/services", method: "post", wantID: "createCoreV1NamespacedService", wantAction: "post", wantKind: "Service", wantParams: []string{"fieldValidation", "fieldManager", "dryRun"}},
		{name: "delete services", path: "/api/v1/namespaces/{namespace}/services", method: "delete", wantID: "deleteCoreV1CollectionNamespacedService", wantAction: "deletecollection", wantKind: "Service", wantParams: []string{"labelSelector", "gracePeriodSeconds"}},
		{name: "read service", path: "/api/v1/namespaces/{namespace}/services/{name}", method: "get", wantID: "readCoreV1NamespacedService", wantAction: "get", wantKind: "Service"},
		{name: "replace service", path: "/api/v1/namespaces/{namespace}/services/{name}", method: "put", wantID: "replaceCoreV1NamespacedService", wantAction: "put", wantKind: "Service", wantParams: []string{"fieldValidation"}},
		{name: "patch service", path: "/api/v1/namespaces/{namespace}/services/{name}", method: "patch", wantID: "patchCoreV1NamespacedService", wantAction: "patch", wantKind: "Service", wantParams: []string{"fieldValidation", "force"}},
		{name: "patch service status", path: "/api/v1/namespaces/{namespace}/services/{name}/status", method: "patch", wantID: "patchCoreV1NamespacedServiceStatus", wantAction: "patch", wantKind: "Service", wantParams: []string{"fieldValidation"}},
		{name: "replace namespace finalize", path: "/api/v1/namespaces/{name}/finalize", method: "put", wantID: "replaceCoreV1NamespaceFinalize", wantAction: "put", wantKind: "Namespace"},
		{name: "namespace finalize has no patch", path: "/api/v1/namespaces/{name}/finalize", method: "patch"},
		{name: "namespaces have no deletecollection", path: "/api/v1/namespaces", method: "delete"},
		{name: "patch node", path: "/api/v1/nodes/{name}", method: "patch", wantID: "patchCoreV1Node", wantAction: "patch", wantKind: "Node", wantParams: []string{"fieldValidation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, found := parsed.Paths[tc.path][tc.method]
			if !found {
				if tc.wantID != "" {
					t.Fatalf("%s %s is missing", tc.method, tc.path)
				}
				return
			}
			if tc.wantID == "" {
				t.Fatalf("%s %s is present; want it absent", tc.method, tc.path)
			}
			var op struct {
				ID         string `json:"operationId"`
				Action     string `json:"x-kubernetes-action"`
				GVK        gvk    `json:"x-kubernetes-group-version-kind"`
				Parameters []struct {
					Name string `json:"name"`
					In   string `json:"in"`
				} `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("json.Unmarshal() error = %v", err)
			}
			if op.ID != tc.wantID || op.Action != tc.wantAction || op.GVK != (gvk{Version: "v1", Kind: tc.wantKind}) {
				t.Errorf("operation = %s, %s, %+v; want %s, %s, kind %s", op.ID, op.Action, op.GVK, tc.wantID, tc.wantAction, tc.wantKind)
			}
			var names []string
			for _, p := range op.Parameters {
				if p.In == "query" {
					names = append(names, p.Name)
				}
			}
			for _, want := range tc.wantParams {
				if !slices.Contains(names, want) {
					t.Errorf("query parameters = %v; want %s among them", names, want)
				}
			}
		})
	}
}

func TestOperationNames(t *testing.T) {
	tests := []struct {
		group, version     string
		wantGroup, wantTag string
	}{
		{group: "", version: "v1", wantGroup: "Core", wantTag: "core_v1"},
		{group: "discovery.k8s.io", version: "v1", wantGroup: "Discovery", wantTag: "discovery_v1"},
		{group: "flowcontrol.apiserver.k8s.io", version: "v1beta3", wantGroup: "FlowcontrolApiserver", wantTag: "flowcontrolApiserver_v1beta3"},
		{group: "example.com", version: "v1alpha1", wantGroup: "ExampleCom", wantTag: "exampleCom_v1alpha1"},
	}
	for _, tc := range tests {
		t.Run(tc.group+"/"+tc.version, func(t *testing.T) {
			if got := operationGroup(tc.group); got != tc.wantGroup {
				t.Errorf("operationGroup(%q) = %q; want %q", tc.group, got, tc.wantGroup)
			}
			if got := operationTag(tc.group, tc.version); got != tc.wantTag {
				t.Errorf("operationTag(%q, %q) = %q; want %q", tc.group, tc.version, got, tc.wantTag)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	svc := Resource{Version: "v1", Kind: "Service", ListKind: "ServiceList", Resource: "services", Namespaced: true,
		Verbs: allVerbs, Object: &corev1.Service{}, List: &corev1.ServiceList{}}
	with := func(edit func(*Resource)) []Resource {
		r := svc
		edit(&r)
		return []Resource{r}
	}
	tests := []struct {
		name      string
		resources []Resource
		wantErr   string
	}{
		{name: "nothing", resources: nil, wantErr: "no resources"},
		{name: "no kind", resources: with(func(r *Resource) { r.Kind = "" }), wantErr: "required"},
		{name: "no list", resources: with(func(r *Resource) { r.List = nil }), wantErr: "must be structs"},
		{name: "not a struct", resources: with(func(r *Resource) { r.Object = "Service" }), wantErr: "must be structs"},
		{name: "twice", resources: append(with(func(*Resource) {}), svc), wantErr: "served twice"},
		{name: "no JSON form", resources: with(func(r *Resource) { r.Object = &struct{ C chan int }{} }), wantErr: "no JSON form"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.resources)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New() error = %v; want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	resources := testResources()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(resources); err != nil {
			b.Fatal(err)
		}
	}
}
