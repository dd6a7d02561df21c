package apiserver

import (
	"net/http"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDiscoveryDocuments checks /api, /apis and the group documents.
func TestDiscoveryDocuments(t *testing.T) {
	s := startServer(t)
	t.Run("api", func(t *testing.T) {
		r := s.do(http.MethodGet, "/api", "")
		var v metav1.APIVersions
		r.into(t, &v)
		if r.code != 200 || v.Kind != "APIVersions" || !slices.Equal(v.Versions, []string{"v1"}) || len(v.ServerAddressByClientCIDRs) != 1 {
			t.Errorf("GET /api = %d %+v; want APIVersions [v1] with one address", r.code, v)
		}
	})
	t.Run("apis", func(t *testing.T) {
		r := s.do(http.MethodGet, "/apis", "")
		var l metav1.APIGroupList
		r.into(t, &l)
		if r.code != 200 || l.Kind != "APIGroupList" || len(l.Groups) != 1 {
			t.Fatalf("GET /apis = %d %+v; want one group", r.code, l)
		}
		g := l.Groups[0]
		if g.Name != "discovery.k8s.io" || g.PreferredVersion.GroupVersion != "discovery.k8s.io/v1" {
			t.Errorf("group = %+v; want discovery.k8s.io preferring v1", g)
		}
	})
	t.Run("group", func(t *testing.T) {
		r := s.do(http.MethodGet, "/apis/discovery.k8s.io", "")
		var g metav1.APIGroup
		r.into(t, &g)
		if r.code != 200 || g.Kind != "APIGroup" || g.Name != "discovery.k8s.io" || len(g.Versions) != 1 {
			t.Errorf("GET /apis/discovery.k8s.io = %d %+v", r.code, g)
		}
	})
	tests := []struct {
		name     string
		path     string
		wantCode int
	}{
		{name: "unknown group", path: "/apis/example.com", wantCode: 404},
		{name: "unknown version", path: "/apis/discovery.k8s.io/v2", wantCode: 404},
		{name: "unknown core version", path: "/api/v2", wantCode: 404},
		{name: "unknown resource", path: "/api/v1/configmaps", wantCode: 404},
		{name: "unknown subresource", path: "/api/v1/namespaces/default/services/x/proxy", wantCode: 404},
		{name: "namespaced object without namespace", path: "/api/v1/services/x", wantCode: 404},
		{name: "unknown top path", path: "/foo", wantCode: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodGet, tc.path, "")
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if st := r.status(t); st.Reason != metav1.StatusReasonNotFound || st.Kind != "Status" {
				t.Errorf("status = %+v; want a NotFound Status", st)
			}
		})
	}
}

// TestDiscoveryResources checks the resource lists against kube-apiserver's.
func TestDiscoveryResources(t *testing.T) {
	s := startServer(t)
	all := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	noCollection := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	sub := []string{"get", "patch", "update"}
	tests := []struct {
		name       string
		path       string
		resource   string
		want       metav1.APIResource
		wantAbsent bool
	}{
		{name: "namespaces", path: "/api/v1", resource: "namespaces", want: metav1.APIResource{Name: "namespaces", SingularName: "namespace", Kind: "Namespace", Verbs: noCollection, ShortNames: []string{"ns"}}},
		{name: "namespaces/status", path: "/api/v1", resource: "namespaces/status", want: metav1.APIResource{Name: "namespaces/status", Kind: "Namespace", Verbs: sub}},
		{name: "namespaces/finalize", path: "/api/v1", resource: "namespaces/finalize", want: metav1.APIResource{Name: "namespaces/finalize", Kind: "Namespace", Verbs: []string{"update"}}},
		{name: "services", path: "/api/v1", resource: "services", want: metav1.APIResource{Name: "services", SingularName: "service", Namespaced: true, Kind: "Service", Verbs: all, ShortNames: []string{"svc"}, Categories: []string{"all"}}},
		{name: "services/status", path: "/api/v1", resource: "services/status", want: metav1.APIResource{Name: "services/status", Namespaced: true, Kind: "Service", Verbs: sub}},
		{name: "endpoints", path: "/api/v1", resource: "endpoints", want: metav1.APIResource{Name: "endpoints", SingularName: "endpoints", Namespaced: true, Kind: "Endpoints", Verbs: all, ShortNames: []string{"ep"}}},
		{name: "endpoints has no status", path: "/api/v1", resource: "endpoints/status", wantAbsent: true},
		{name: "endpointslices", path: "/apis/discovery.k8s.io/v1", resource: "endpointslices", want: metav1.APIResource{Name: "endpointslices", SingularName: "endpointslice", Namespaced: true, Kind: "EndpointSlice", Verbs: all}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodGet, tc.path, "")
			var l metav1.APIResourceList
			r.into(t, &l)
			if r.code != 200 || l.Kind != "APIResourceList" {
				t.Fatalf("GET %s = %d %s", tc.path, r.code, r.body)
			}
			var got *metav1.APIResource
			for i := range l.APIResources {
				if l.APIResources[i].Name == tc.resource {
					got = &l.APIResources[i]
				}
			}
			if tc.wantAbsent {
				if got != nil {
					t.Errorf("%s listed: %+v", tc.resource, *got)
				}
				return
			}
			if got == nil {
				t.Fatalf("%s not listed in %+v", tc.resource, l.APIResources)
			}
			got.StorageVersionHash = ""
			if got.Name != tc.want.Name || got.SingularName != tc.want.SingularName || got.Namespaced != tc.want.Namespaced ||
				got.Kind != tc.want.Kind || !slices.Equal(got.Verbs, tc.want.Verbs) ||
				!slices.Equal(got.ShortNames, tc.want.ShortNames) || !slices.Equal(got.Categories, tc.want.Categories) {
				t.Errorf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
	// client-go's discovery reads the same documents.
	groups, lists, err := s.client().Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatalf("ServerGroupsAndResources: %v", err)
	}
	if len(groups) != 2 || len(lists) != 2 {
		t.Errorf("discovery found %d groups and %d resource lists; want 2 and 2", len(groups), len(lists))
	}
}
