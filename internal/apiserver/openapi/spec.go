package openapi

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Resource describes one served resource for the documents.
type Resource struct {
	// Group is empty for the legacy core group.
	Group, Version, Kind, ListKind, Resource string
	Namespaced                               bool
	// Verbs lists what the server allows, from get, list, watch, create,
	// update, patch, delete and deletecollection; other words are ignored.
	Verbs []string
	// Subresources lists the served subresources, such as status and finalize.
	Subresources []string
	// Object and List are values of the kind and list kind, such as
	// &corev1.Service{} and &corev1.ServiceList{}; only their types are used.
	Object, List any
}

// Spec holds the rendered documents. It is immutable and safe for concurrent
// use; the byte slices it returns are shared and must not be modified.
type Spec struct {
	v3Paths  []string
	v3Docs   map[string][]byte
	v3Hashes map[string]string
	v3Root   []byte
	v2JSON   []byte
	v2Proto  []byte
	v2Hash   string
}

// New builds every document for resources. It fails on incomplete or
// duplicate resources and on Go types that have no JSON schema. It takes tens
// of milliseconds; the first call in a process also parses client-go's apply
// schema (about 0.1 s), which server-side apply then reuses.
func New(resources []Resource) (*Spec, error) {
	if err := validate(resources); err != nil {
		return nil, err
	}
	defs := newDefinitions(newMergeSemantics(applySchema(resources)))
	byPath := map[string]*groupVersion{}
	var gvs []*groupVersion
	for _, r := range resources {
		object, err := defs.define(indirect(reflect.TypeOf(r.Object)))
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Resource, err)
		}
		list, err := defs.define(indirect(reflect.TypeOf(r.List)))
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", r.Resource, err)
		}
		addGVK(defs.byName[object], gvk{Group: r.Group, Version: r.Version, Kind: r.Kind})
		addGVK(defs.byName[list], gvk{Group: r.Group, Version: r.Version, Kind: r.ListKind})

		path := groupVersionPath(r.Group, r.Version)
		gv := byPath[path]
		if gv == nil {
			gv = &groupVersion{path: path}
			byPath[path] = gv
			gvs = append(gvs, gv)
		}
		gv.items = append(gv.items, resourcePaths(r, object, list)...)
	}
	if err := defineShared(defs, gvs); err != nil {
		return nil, err
	}

	s := &Spec{v3Docs: map[string][]byte{}, v3Hashes: map[string]string{}}
	root := map[string]map[string]string{}
	for _, gv := range gvs {
		doc, err := renderV3(gv, defs.byName)
		if err != nil {
			return nil, fmt.Errorf("openapi v3 %s: %w", gv.path, err)
		}
		hash := hashOf(doc)
		s.v3Docs[gv.path], s.v3Hashes[gv.path] = doc, hash
		root[gv.path] = map[string]string{"serverRelativeURL": "/openapi/v3/" + gv.path + "?hash=" + hash}
	}
	s.v3Paths = slices.Sorted(maps.Keys(s.v3Docs))
	var err error
	if s.v3Root, err = json.Marshal(map[string]any{"paths": root}); err != nil {
		return nil, fmt.Errorf("openapi v3 root: %w", err)
	}

	v2, err := buildV2(gvs, defs.byName)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	if s.v2JSON, err = json.Marshal(v2); err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	s.v2Hash = hashOf(s.v2JSON)
	if s.v2Proto, err = (proto.MarshalOptions{Deterministic: true}).Marshal(gnosticDocument(v2)); err != nil {
		return nil, fmt.Errorf("openapi v2 protobuf: %w", err)
	}
	return s, nil
}

// defineShared adds the request bodies every group version uses: delete
// options, which are a kind of each group version, and the patch placeholder.
func defineShared(defs *definitions, gvs []*groupVersion) error {
	for _, t := range []reflect.Type{reflect.TypeFor[metav1.DeleteOptions](), reflect.TypeFor[metav1.Patch]()} {
		if _, err := defs.define(t); err != nil {
			return err
		}
	}
	for _, gv := range gvs {
		group, version := "", strings.TrimPrefix(gv.path, "api/")
		if g, ok := strings.CutPrefix(gv.path, "apis/"); ok {
			group, version, _ = strings.Cut(g, "/")
		}
		addGVK(defs.byName[deleteOptionsDef], gvk{Group: group, Version: version, Kind: "DeleteOptions"})
	}
	return nil
}

// V3Paths lists the group version paths with a v3 document, such as api/v1
// and apis/discovery.k8s.io/v1, sorted.
func (s *Spec) V3Paths() []string { return slices.Clone(s.v3Paths) }

// V3Root is the /openapi/v3 index: each group version path with the URL of its
// document, which carries the document's hash so clients can cache it.
func (s *Spec) V3Root() []byte { return s.v3Root }

// V3Doc returns the JSON v3 document of a group version path such as api/v1;
// ok is false for paths without one.
func (s *Spec) V3Doc(gvPath string) (doc []byte, ok bool) {
	doc, ok = s.v3Docs[gvPath]
	return doc, ok
}

// V3Hash returns the hash of a group version's v3 document, as the root's
// URLs carry it and as an ETag may; "" for paths without a document.
func (s *Spec) V3Hash(gvPath string) string { return s.v3Hashes[gvPath] }

// V2JSON returns the Swagger 2.0 document of all group versions.
func (s *Spec) V2JSON() []byte { return s.v2JSON }

// V2Proto returns the Swagger 2.0 document as a marshalled gnostic
// openapi_v2.Document.
func (s *Spec) V2Proto() []byte { return s.v2Proto }

// V2Hash returns the hash of the v2 JSON document, usable as an ETag for both
// of its encodings.
func (s *Spec) V2Hash() string { return s.v2Hash }

// hashOf is the content hash Kubernetes uses for OpenAPI documents: SHA-512 in
// upper-case hex.
func hashOf(b []byte) string {
	sum := sha512.Sum512(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func groupVersionPath(group, version string) string {
	if group == "" {
		return "api/" + version
	}
	return "apis/" + group + "/" + version
}

func addGVK(s *schema, g gvk) {
	if !slices.Contains(s.ext.gvks, g) {
		s.ext.gvks = append(s.ext.gvks, g)
	}
}

// validate checks that resources are complete and distinct.
func validate(resources []Resource) error {
	if len(resources) == 0 {
		return errors.New("no resources")
	}
	kinds := map[string]bool{}
	paths := map[string]bool{}
	for _, r := range resources {
		if r.Version == "" || r.Kind == "" || r.ListKind == "" || r.Resource == "" {
			return fmt.Errorf("resource %q in %q: version, kind, list kind and resource are required", r.Resource, r.Group)
		}
		for _, v := range []any{r.Object, r.List} {
			if v == nil || indirect(reflect.TypeOf(v)).Kind() != reflect.Struct {
				return fmt.Errorf("resource %s: object and list must be structs or pointers to structs, got %T", r.Resource, v)
			}
		}
		gv := groupVersionPath(r.Group, r.Version)
		if kinds[gv+"/"+r.Kind] || paths[gv+"/"+r.Resource] {
			return fmt.Errorf("resource %s: kind %s or resource served twice in %s", r.Resource, r.Kind, gv)
		}
		kinds[gv+"/"+r.Kind], paths[gv+"/"+r.Resource] = true, true
	}
	return nil
}
