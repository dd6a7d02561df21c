package openapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/rest"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// allVerbs is what the server allows on most resources.
var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// testResources mirrors what svcnet serves.
func testResources() []Resource {
	core := func(kind, list, resource string, namespaced bool, obj, l any, subs ...string) Resource {
		return Resource{Version: "v1", Kind: kind, ListKind: list, Resource: resource, Namespaced: namespaced,
			Verbs: allVerbs, Subresources: subs, Object: obj, List: l}
	}
	ns := core("Namespace", "NamespaceList", "namespaces", false, &corev1.Namespace{}, &corev1.NamespaceList{}, "status", "finalize")
	ns.Verbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	return []Resource{
		ns,
		core("Service", "ServiceList", "services", true, &corev1.Service{}, &corev1.ServiceList{}, "status"),
		core("Endpoints", "EndpointsList", "endpoints", true, &corev1.Endpoints{}, &corev1.EndpointsList{}),
		core("Pod", "PodList", "pods", true, &corev1.Pod{}, &corev1.PodList{}, "status"),
		core("Node", "NodeList", "nodes", false, &corev1.Node{}, &corev1.NodeList{}, "status"),
		core("Event", "EventList", "events", true, &corev1.Event{}, &corev1.EventList{}),
		{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice", ListKind: "EndpointSliceList", Resource: "endpointslices",
			Namespaced: true, Verbs: allVerbs, Object: &discoveryv1.EndpointSlice{}, List: &discoveryv1.EndpointSliceList{}},
		{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease", ListKind: "LeaseList", Resource: "leases",
			Namespaced: true, Verbs: allVerbs, Object: &coordinationv1.Lease{}, List: &coordinationv1.LeaseList{}},
	}
}

// testSpec builds the documents once per test binary run.
func testSpec(t testing.TB) *Spec {
	t.Helper()
	s, err := New(testResources())
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return s
}

// serve publishes s the way the API server does, for clients under test.
func serve(t testing.TB, s *Spec) *rest.Config {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/openapi/v3", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.V3Root())
	})
	mux.HandleFunc("/openapi/v3/", func(w http.ResponseWriter, r *http.Request) {
		doc, ok := s.V3Doc(strings.TrimPrefix(r.URL.Path, "/openapi/v3/"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

// openAPIClient is the v3 client kubectl builds, pointed at s.
func openAPIClient(t testing.TB, s *Spec) openapi.Client {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(serve(t, s))
	if err != nil {
		t.Fatalf("NewDiscoveryClientForConfig() error = %v", err)
	}
	return dc.OpenAPIV3()
}

// decodeV2Proto decodes the protobuf v2 document as kubectl does.
func decodeV2Proto(t testing.TB, s *Spec) *openapi_v2.Document {
	t.Helper()
	doc := &openapi_v2.Document{}
	if err := proto.Unmarshal(s.V2Proto(), doc); err != nil {
		t.Fatalf("proto.Unmarshal(V2Proto()) error = %v", err)
	}
	return doc
}
