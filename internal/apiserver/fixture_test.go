package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/internal/registry/endpoints"
	"github.com/svcnet/svcnet/internal/registry/endpointslice"
	"github.com/svcnet/svcnet/internal/registry/namespace"
	"github.com/svcnet/svcnet/internal/registry/service"
	"github.com/svcnet/svcnet/internal/storage"
)

// testServer is one API server over its own embedded etcd, served by httptest.
type testServer struct {
	t     *testing.T
	srv   *Server
	store *storage.Store
	url   string
}

// nsStrategy adds the namespace deletion marker the CLI wires in.
type nsStrategy struct {
	Typed[*corev1.Namespace]
}

func (nsStrategy) MarkDeleting(obj runtime.Object) {
	obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
}

// testResources returns namespaces, services (without allocation: ClusterIPs stay
// empty), endpoints (create on update) and endpointslices (a named group).
func testResources() []*Resource {
	return []*Resource{
		{
			Version: "v1", Resource: "namespaces", Kind: "Namespace", ListKind: "NamespaceList", SingularName: "namespace",
			ShortNames: []string{"ns"}, Subresources: []string{"status", "finalize"}, NoDeleteCollection: true,
			New: func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy: nsStrategy{Typed[*corev1.Namespace]{
				DefaultFn: namespace.Default, PrepareForCreateFn: namespace.PrepareForCreate,
				PrepareForUpdateFn: namespace.PrepareForUpdate, PrepareForStatusFn: namespace.PrepareForStatusUpdate,
				PrepareForFinalizeFn: namespace.PrepareForFinalize,
				ValidateCreateFn:     namespace.ValidateCreate, ValidateUpdateFn: namespace.ValidateUpdate,
				ValidateStatusUpdateFn: namespace.ValidateStatusUpdate,
				TableColumnsFn:         namespace.TableColumns, TableRowFn: namespace.TableRow, SelectableFieldsFn: namespace.SelectableFields,
			}},
		},
		{
			Version: "v1", Resource: "services", Kind: "Service", ListKind: "ServiceList", SingularName: "service", Namespaced: true,
			ShortNames: []string{"svc"}, Categories: []string{"all"}, Subresources: []string{"status"},
			New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} },
			Strategy: Typed[*corev1.Service]{
				DefaultFn: service.Default, PrepareForCreateFn: service.PrepareForCreate,
				PrepareForUpdateFn: service.PrepareForUpdate, PrepareForStatusFn: service.PrepareForStatusUpdate,
				ValidateCreateFn: service.ValidateCreate, ValidateUpdateFn: service.ValidateUpdate,
				ValidateStatusUpdateFn: service.ValidateStatusUpdate,
				TableColumnsFn:         service.TableColumns, TableRowFn: service.TableRow, SelectableFieldsFn: service.SelectableFields,
			},
		},
		{
			Version: "v1", Resource: "endpoints", Kind: "Endpoints", ListKind: "EndpointsList", SingularName: "endpoints", Namespaced: true,
			ShortNames: []string{"ep"},
			New:        func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} },
			Strategy: Typed[*corev1.Endpoints]{
				DefaultFn: endpoints.Default, PrepareForCreateFn: endpoints.PrepareForCreate, PrepareForUpdateFn: endpoints.PrepareForUpdate,
				ValidateCreateFn: endpoints.ValidateCreate, ValidateUpdateFn: endpoints.ValidateUpdate,
				TableColumnsFn: endpoints.TableColumns, TableRowFn: endpoints.TableRow, SelectableFieldsFn: endpoints.SelectableFields,
			},
		},
		{
			Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Kind: "EndpointSlice", ListKind: "EndpointSliceList",
			SingularName: "endpointslice", Namespaced: true,
			New: func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
			Strategy: Typed[*discoveryv1.EndpointSlice]{
				DefaultFn: endpointslice.Default, PrepareForCreateFn: endpointslice.PrepareForCreate, PrepareForUpdateFn: endpointslice.PrepareForUpdate,
				ValidateCreateFn: endpointslice.ValidateCreate, ValidateUpdateFn: endpointslice.ValidateUpdate,
				TableColumnsFn: endpointslice.TableColumns, TableRowFn: endpointslice.TableRow, SelectableFieldsFn: endpointslice.SelectableFields,
			},
		},
	}
}

// startServer starts etcd, the Server and an httptest server, all stopped by
// t.Cleanup, and creates the namespaces given.
func startServer(t *testing.T, namespaces ...string) *testServer {
	t.Helper()
	return startServerWith(t, Config{}, namespaces...)
}

func startServerWith(t *testing.T, cfg Config, namespaces ...string) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	emb, err := storage.StartEmbedded(ctx, t.TempDir(), log)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(emb.Close)
	store := storage.New(emb.Client())
	cfg.Store = store
	cfg.Resources = testResources()
	cfg.Log = log
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	hs := httptest.NewServer(srv.Handler())
	// Close open watch connections first, so Close does not wait for them.
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close() })
	ts := &testServer{t: t, srv: srv, store: store, url: hs.URL}
	for _, ns := range namespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if _, err := ts.client().CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	return ts
}

func (s *testServer) restConfig() *rest.Config {
	return &rest.Config{Host: s.url, QPS: -1, Timeout: 20 * time.Second}
}

func (s *testServer) client() kubernetes.Interface {
	return s.clientFor("")
}

// clientFor returns a clientset speaking contentType ("" means JSON).
func (s *testServer) clientFor(contentType string) kubernetes.Interface {
	cfg := s.restConfig()
	if contentType != "" {
		cfg.ContentType = contentType
		cfg.AcceptContentTypes = contentType
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		s.t.Fatalf("NewForConfig: %v", err)
	}
	return cs
}

// response is a raw HTTP reply.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// do sends a raw request; headers alternate name and value.
func (s *testServer) do(method, path, body string, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatalf("new request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// status decodes a Status body.
func (r response) status(t *testing.T) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("decode Status from %q: %v", r.body, err)
	}
	return st
}

// into decodes a JSON body into v.
func (r response) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, r.body, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// svc returns a minimal valid ClusterIP Service.
func svc(name string, labels map[string]string, ports ...int32) *corev1.Service {
	if len(ports) == 0 {
		ports = []int32{80}
	}
	s := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: p})
	}
	return s
}

// createSvc creates a Service through client-go and fails the test on error.
func (s *testServer) createSvc(ns string, obj *corev1.Service) *corev1.Service {
	s.t.Helper()
	out, err := s.client().CoreV1().Services(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatalf("create service %s/%s: %v", ns, obj.Name, err)
	}
	return out
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// unstructuredDecode decodes an embedded JSON object.
func unstructuredDecode(raw []byte) (*unstructured.Unstructured, *schema.GroupVersionKind, error) {
	u := &unstructured.Unstructured{}
	_, gvk, err := unstructured.UnstructuredJSONScheme.Decode(raw, nil, u)
	return u, gvk, err
}

// errReason returns the Status reason of a client-go error ("" for nil).
func errReason(err error) metav1.StatusReason {
	if err == nil {
		return ""
	}
	return apierrors.ReasonForError(err)
}
