package apiserver

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

var errUnauthorized = apierrors.NewUnauthorized("Unauthorized")

func notFoundPath(path string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeUnexpectedServerResponse, Message: "404 page not found: " + path}}},
	}}
}

// resetFields lists what a write through one endpoint may not change: the status on
// the main resource, the spec through status.
func resetFields(res *Resource, sub string) map[fieldpath.APIVersion]fieldpath.Filter {
	var set *fieldpath.Set
	switch {
	case sub == "" && res.hasSubresource("status"):
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	case sub == "status":
		set = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	default:
		return nil
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{
		fieldpath.APIVersion(res.GroupVersion().String()): fieldpath.NewExcludeSetFilter(set),
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) groups() map[string][]string {
	g := map[string][]string{}
	for p := range s.byPath {
		if strings.HasPrefix(p, "apis/") {
			parts := strings.Split(p, "/")
			g[parts[1]] = append(g[parts[1]], parts[2])
		}
	}
	return g
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	s.metrics.observe("get", "discovery", http.StatusOK, 0)
	switch r.URL.Path {
	case "/api":
		s.writeJSON(w, http.StatusOK, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
				{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
			},
		})
	case "/apis":
		list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		groups := s.groups()
		names := make([]string, 0, len(groups))
		for n := range groups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			list.Groups = append(list.Groups, apiGroup(n, groups[n]))
		}
		s.writeJSON(w, http.StatusOK, list)
	}
}

func apiGroup(name string, versions []string) metav1.APIGroup {
	g := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: name}
	sort.Strings(versions)
	for _, v := range versions {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + v, Version: v})
	}
	g.PreferredVersion = g.Versions[0]
	return g
}

func verbsFor(res *Resource) []string {
	v := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	if res.NoDeleteCollection {
		v = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	}
	return v
}

func (s *Server) resourceList(path string) (*metav1.APIResourceList, bool) {
	set, ok := s.byPath[path]
	if !ok {
		return nil, false
	}
	gv := strings.TrimPrefix(strings.TrimPrefix(path, "api/"), "apis/")
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res := set[n]
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name:               res.Resource,
			SingularName:       res.SingularName,
			Namespaced:         res.Namespaced,
			Kind:               res.Kind,
			Verbs:              verbsFor(res),
			ShortNames:         res.ShortNames,
			Categories:         res.Categories,
			StorageVersionHash: storageVersionHash(res),
		})
		for _, sub := range res.Subresources {
			verbs := []string{"get", "patch", "update"}
			if sub == "finalize" {
				verbs = []string{"update"}
			}
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.Resource + "/" + sub, Namespaced: res.Namespaced, Kind: res.Kind, Verbs: verbs,
			})
		}
	}
	return list, true
}

func storageVersionHash(res *Resource) string {
	// Any stable opaque value works; clients only compare it for equality.
	h := uint32(2166136261)
	for _, c := range res.GVK().String() {
		h = (h ^ uint32(c)) * 16777619
	}
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out := make([]byte, 0, 11)
	for range 11 {
		out = append(out, digits[h%64])
		h = h*2654435761 + 1
	}
	return string(out)
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.cfg.Version)
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OpenAPI == nil {
		s.writeError(w, r, notFoundPath(r.URL.Path))
		return
	}
	switch {
	case r.URL.Path == "/openapi/v2":
		if strings.Contains(r.Header.Get("Accept"), "protobuf") {
			w.Header().Set("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
			_, _ = w.Write(s.cfg.OpenAPI.V2Proto())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.cfg.OpenAPI.V2JSON())
	case r.URL.Path == "/openapi/v3":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.cfg.OpenAPI.V3Root())
	case strings.HasPrefix(r.URL.Path, "/openapi/v3/"):
		doc, ok := s.cfg.OpenAPI.V3Doc(strings.TrimPrefix(r.URL.Path, "/openapi/v3/"))
		if !ok {
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("hash") != "" {
			w.Header().Set("Cache-Control", "public, immutable")
		}
		_, _ = w.Write(doc)
	default:
		s.writeError(w, r, notFoundPath(r.URL.Path))
	}
}

// request is a parsed resource URL.
type request struct {
	res       *Resource
	namespace string
	name      string
	sub       string
	verb      string
	// media is the negotiated response encoding.
	media mediaRequest
}

// parse resolves a path below /api or /apis to a resource request. For
// /api/v1 and /apis/g/v alone it returns ok with res nil (discovery).
func (s *Server) parse(path string) (gvPath string, req request, err error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var rest []string
	switch {
	case parts[0] == "api" && len(parts) >= 2:
		gvPath, rest = "api/"+parts[1], parts[2:]
	case parts[0] == "apis" && len(parts) >= 3:
		gvPath, rest = "apis/"+parts[1]+"/"+parts[2], parts[3:]
	case parts[0] == "apis" && len(parts) == 2:
		return "apis/" + parts[1], req, nil
	default:
		return "", req, notFoundPath(path)
	}
	set, ok := s.byPath[gvPath]
	if !ok {
		return "", req, notFoundPath(path)
	}
	if len(rest) == 0 {
		return gvPath, req, nil
	}
	// namespaces/{ns}/{resource}/... addresses a namespaced resource, except
	// namespaces/{name}[/{sub}] which is the namespace itself.
	if rest[0] == "namespaces" && len(rest) >= 3 {
		if r, ok := set[rest[2]]; ok && r.Namespaced {
			req.namespace = rest[1]
			rest = rest[2:]
		}
	}
	res, ok := set[rest[0]]
	if !ok {
		return "", req, notFoundPath(path)
	}
	req.res = res
	if res.Namespaced && req.namespace == "" && len(rest) > 1 {
		return "", req, notFoundPath(path)
	}
	switch len(rest) {
	case 1:
	case 2:
		req.name = rest[1]
	case 3:
		req.name, req.sub = rest[1], rest[2]
		if !res.hasSubresource(req.sub) {
			return "", req, notFoundPath(path)
		}
	default:
		return "", req, notFoundPath(path)
	}
	return gvPath, req, nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	gvPath, req, err := s.parse(r.URL.Path)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.res == nil {
		if strings.Count(gvPath, "/") == 1 && strings.HasPrefix(gvPath, "apis/") {
			name := strings.TrimPrefix(gvPath, "apis/")
			if vs, ok := s.groups()[name]; ok {
				g := apiGroup(name, vs)
				s.writeJSON(w, http.StatusOK, &g)
				return
			}
			s.writeError(w, r, notFoundPath(r.URL.Path))
			return
		}
		list, _ := s.resourceList(gvPath)
		s.writeJSON(w, http.StatusOK, list)
		return
	}
	s.serveResource(w, r, req)
}

// objectGVK is a helper for encoders that need the kind of any object.
func objectGVK(obj runtime.Object) schema.GroupVersionKind {
	return obj.GetObjectKind().GroupVersionKind()
}
