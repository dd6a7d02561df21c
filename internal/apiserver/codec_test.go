package apiserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	tableV1   = "application/json;as=Table;v=v1;g=meta.k8s.io"
	protoType = "application/vnd.kubernetes.protobuf"
)

// TestContentNegotiation checks the encodings and meta.k8s.io views of get and list.
func TestContentNegotiation(t *testing.T) {
	s := startServer(t, "neg")
	s.createSvc("neg", svc("a", map[string]string{"app": "x"}))
	s.createSvc("neg", svc("b", nil))
	const list = "/api/v1/namespaces/neg/services"
	const item = list + "/a"

	tests := []struct {
		name        string
		path        string
		accept      string
		wantCode    int
		wantType    string
		wantKind    string // kind in the body (JSON and YAML only)
		wantContain string
	}{
		{name: "default is JSON", path: item, wantCode: 200, wantType: "application/json", wantKind: "Service"},
		{name: "wildcard is JSON", path: item, accept: "*/*", wantCode: 200, wantType: "application/json", wantKind: "Service"},
		{name: "YAML", path: item, accept: "application/yaml", wantCode: 200, wantType: "application/yaml", wantKind: "Service"},
		{name: "protobuf", path: item, accept: protoType, wantCode: 200, wantType: protoType},
		{name: "first acceptable wins", path: item, accept: "text/html, application/yaml;q=0.9", wantCode: 200, wantType: "application/yaml", wantKind: "Service"},
		{name: "list JSON", path: list, wantCode: 200, wantType: "application/json", wantKind: "ServiceList"},
		{name: "Table of one object", path: item, accept: tableV1, wantCode: 200, wantType: "application/json", wantKind: "Table"},
		{name: "Table of a list", path: list, accept: tableV1 + ", application/json", wantCode: 200, wantType: "application/json", wantKind: "Table"},
		{name: "PartialObjectMetadata", path: item, accept: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", wantCode: 200, wantType: "application/json", wantKind: "PartialObjectMetadata"},
		{name: "PartialObjectMetadataList", path: list, accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", wantCode: 200, wantType: "application/json", wantKind: "PartialObjectMetadataList"},
		{name: "view of another group falls back", path: item, accept: "application/json;as=Table;v=v1;g=example.com, application/json", wantCode: 200, wantType: "application/json", wantKind: "Service"},
		{name: "protobuf Table falls back", path: list, accept: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json", wantCode: 200, wantType: "application/json", wantKind: "ServiceList"},
		{name: "protobuf PartialObjectMetadataList", path: list, accept: "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", wantCode: 200, wantType: protoType},
		{name: "unknown Accept on get", path: item, accept: "text/html", wantCode: 406, wantType: "application/json", wantKind: "Status", wantContain: "only the following media types are accepted"},
		{name: "unknown Accept on list", path: list, accept: "text/html", wantCode: 406, wantType: "application/json", wantKind: "Status", wantContain: "only the following media types are accepted"},
		{name: "unknown view alone", path: item, accept: "application/json;as=Unknown;v=v1;g=meta.k8s.io", wantCode: 406, wantType: "application/json", wantKind: "Status"},
		{name: "object view on a list", path: list, accept: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", wantCode: 406, wantType: "application/json", wantKind: "Status"},
		{name: "list view on an object", path: item, accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", wantCode: 406, wantType: "application/json", wantKind: "Status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.accept != "" {
				headers = []string{"Accept", tc.accept}
			}
			r := s.do(http.MethodGet, tc.path, "", headers...)
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if got := r.header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type = %q; want %q", got, tc.wantType)
			}
			if tc.wantKind != "" {
				var tm metav1.TypeMeta
				if err := yaml.Unmarshal(r.body, &tm); err != nil {
					t.Fatalf("decode type of %q: %v", r.body, err)
				}
				if tm.Kind != tc.wantKind {
					t.Errorf("kind = %q; want %q", tm.Kind, tc.wantKind)
				}
			}
			if !strings.Contains(string(r.body), tc.wantContain) {
				t.Errorf("body %s does not contain %q", r.body, tc.wantContain)
			}
		})
	}
}

// TestNotAcceptableWritesNothing checks that a write whose response cannot be
// encoded is refused before anything is stored, as kube-apiserver does.
func TestNotAcceptableWritesNothing(t *testing.T) {
	s := startServer(t, "na")
	s.createSvc("na", svc("existing", nil))
	tests := []struct {
		name, method, path, body, contentType string
	}{
		{name: "create", method: http.MethodPost, path: "/api/v1/namespaces/na/services", body: mustJSON(t, svc("created", nil))},
		{name: "update", method: http.MethodPut, path: "/api/v1/namespaces/na/services/existing", body: mustJSON(t, svc("existing", map[string]string{"changed": "yes"}))},
		{name: "patch", method: http.MethodPatch, path: "/api/v1/namespaces/na/services/existing", body: `{"metadata":{"labels":{"changed":"yes"}}}`, contentType: "application/merge-patch+json"},
		{name: "delete", method: http.MethodDelete, path: "/api/v1/namespaces/na/services/existing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Accept", "text/html"}
			if tc.contentType != "" {
				headers = append(headers, "Content-Type", tc.contentType)
			}
			r := s.do(tc.method, tc.path, tc.body, headers...)
			if r.code != http.StatusNotAcceptable {
				t.Fatalf("code = %d; want 406 (body %s)", r.code, r.body)
			}
			ctx := context.Background()
			if _, err := s.client().CoreV1().Services("na").Get(ctx, "created", metav1.GetOptions{}); err == nil {
				t.Errorf("service created despite 406")
			}
			got, err := s.client().CoreV1().Services("na").Get(ctx, "existing", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("existing service gone after 406: %v", err)
			}
			if got.Labels["changed"] != "" {
				t.Errorf("existing service changed despite 406: labels %v", got.Labels)
			}
		})
	}
}

// TestTableIncludeObject checks the row objects for each includeObject value.
func TestTableIncludeObject(t *testing.T) {
	s := startServer(t, "tbl")
	s.createSvc("tbl", svc("web", map[string]string{"app": "web"}))
	tests := []struct {
		name     string
		query    string
		accept   string
		wantCode int
		wantKind string // kind of the row object; "" means no object
	}{
		{name: "default is Metadata", query: "", accept: tableV1, wantCode: 200, wantKind: "PartialObjectMetadata"},
		{name: "Metadata", query: "?includeObject=Metadata", accept: tableV1, wantCode: 200, wantKind: "PartialObjectMetadata"},
		{name: "Object", query: "?includeObject=Object", accept: tableV1, wantCode: 200, wantKind: "Service"},
		{name: "None", query: "?includeObject=None", accept: tableV1, wantCode: 200, wantKind: ""},
		{name: "invalid", query: "?includeObject=All", accept: tableV1, wantCode: 400},
		{name: "YAML Object", query: "?includeObject=Object", accept: "application/yaml;as=Table;v=v1;g=meta.k8s.io", wantCode: 200, wantKind: "Service"},
		{name: "protobuf is not offered", accept: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", wantCode: 406},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodGet, "/api/v1/namespaces/tbl/services"+tc.query, "", "Accept", tc.accept)
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if r.code != 200 {
				return
			}
			table := decodeTable(t, r)
			if len(table.ColumnDefinitions) == 0 || table.ColumnDefinitions[0].Name != "Name" {
				t.Errorf("columns = %v; want Name first", table.ColumnDefinitions)
			}
			if table.ResourceVersion == "" {
				t.Errorf("table has no resourceVersion")
			}
			if len(table.Rows) != 1 {
				t.Fatalf("rows = %d; want 1", len(table.Rows))
			}
			row := table.Rows[0]
			if row.Cells[0] != "web" {
				t.Errorf("first cell = %v; want web", row.Cells[0])
			}
			raw := row.Object.Raw
			if tc.wantKind == "" {
				if len(raw) != 0 {
					t.Errorf("row object = %s; want none", raw)
				}
				return
			}
			obj, _, err := unstructuredDecode(raw)
			if err != nil {
				t.Fatalf("decode row object %q: %v", raw, err)
			}
			if obj.GetKind() != tc.wantKind || obj.GetName() != "web" || obj.GetLabels()["app"] != "web" {
				t.Errorf("row object = %s %s labels %v; want %s web with labels", obj.GetKind(), obj.GetName(), obj.GetLabels(), tc.wantKind)
			}
		})
	}
}

// decodeTable decodes a Table from a JSON or YAML response.
func decodeTable(t *testing.T, r response) *metav1.Table {
	t.Helper()
	table := &metav1.Table{}
	if err := yaml.Unmarshal(r.body, table); err != nil {
		t.Fatalf("decode Table from %q: %v", r.body, err)
	}
	return table
}

// TestProtobufClient drives create, get, list and update through a protobuf clientset.
func TestProtobufClient(t *testing.T) {
	s := startServer(t, "pb")
	cs := s.clientFor(protoType).CoreV1().Services("pb")
	ctx := context.Background()
	created, err := cs.Create(ctx, svc("p", map[string]string{"enc": "proto"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" {
		t.Errorf("created object lacks uid or resourceVersion: %+v", created.ObjectMeta)
	}
	created.Labels["step"] = "updated"
	updated, err := cs.Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	list, err := cs.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Labels["step"] != "updated" || list.Items[0].ResourceVersion != updated.ResourceVersion {
		t.Errorf("list = %+v; want the updated service at %s", list.Items, updated.ResourceVersion)
	}
	_, err = cs.Get(ctx, "missing", metav1.GetOptions{})
	if got := errReason(err); got != metav1.StatusReasonNotFound {
		t.Errorf("get missing: reason %q (%v); want NotFound", got, err)
	}
}

// TestYAMLBody creates an object from a YAML body.
func TestYAMLBody(t *testing.T) {
	s := startServer(t, "yml")
	body := "apiVersion: v1\nkind: Service\nmetadata:\n  name: from-yaml\nspec:\n  ports:\n  - port: 53\n    protocol: UDP\n"
	r := s.do(http.MethodPost, "/api/v1/namespaces/yml/services", body, "Content-Type", "application/yaml")
	if r.code != http.StatusCreated {
		t.Fatalf("code = %d; want 201 (body %s)", r.code, r.body)
	}
	var got corev1.Service
	r.into(t, &got)
	if got.Spec.Ports[0].Protocol != corev1.ProtocolUDP || got.Namespace != "yml" {
		t.Errorf("created %+v; want UDP port in namespace yml", got)
	}
	r = s.do(http.MethodPost, "/api/v1/namespaces/yml/services", body, "Content-Type", "text/plain")
	if r.code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: code = %d; want 415", r.code)
	}
}
