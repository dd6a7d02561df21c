package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// twoPorts returns a Service with named ports http (80) and https (443).
func twoPorts(name string) *corev1.Service {
	s := svc(name, map[string]string{"app": name}, 80, 443)
	s.Spec.Ports[0].Name, s.Spec.Ports[1].Name = "http", "https"
	return s
}

func portSummary(s *corev1.Service) string {
	var out []string
	for _, p := range s.Spec.Ports {
		out = append(out, p.Name+":"+strconv.Itoa(int(p.Port))+">"+p.TargetPort.String())
	}
	return strings.Join(out, ",")
}

// TestPatchTypes checks the three classic patch types and their errors.
func TestPatchTypes(t *testing.T) {
	s := startServer(t, "pt")
	tests := []struct {
		name        string
		pt          string
		patch       string
		query       string
		wantCode    int
		wantReason  metav1.StatusReason
		wantPorts   string
		wantLabel   string
		wantWarning string
	}{
		{name: "strategic merges ports by port", pt: string(types.StrategicMergePatchType),
			patch: `{"spec":{"ports":[{"name":"https","port":443,"targetPort":8443}]}}`, wantCode: 200, wantPorts: "http:80>80,https:443>8443"},
		{name: "strategic delete directive", pt: string(types.StrategicMergePatchType),
			patch: `{"spec":{"ports":[{"port":80,"$patch":"delete"}]}}`, wantCode: 200, wantPorts: "https:443>443"},
		{name: "merge replaces lists", pt: string(types.MergePatchType),
			patch: `{"spec":{"ports":[{"name":"only","port":90}]}}`, wantCode: 200, wantPorts: "only:90>90"},
		{name: "merge removes a label", pt: string(types.MergePatchType),
			patch: `{"metadata":{"labels":{"app":null,"new":"x"}}}`, wantCode: 200, wantLabel: "new=x", wantPorts: "http:80>80,https:443>443"},
		{name: "json patch", pt: string(types.JSONPatchType),
			patch: `[{"op":"replace","path":"/spec/ports/1/port","value":444},{"op":"add","path":"/metadata/labels/new","value":"y"}]`, wantCode: 200, wantLabel: "new=y", wantPorts: "http:80>80,https:444>443"},
		{name: "json patch test fails", pt: string(types.JSONPatchType),
			patch: `[{"op":"test","path":"/spec/type","value":"NodePort"}]`, wantCode: 422, wantReason: metav1.StatusReasonInvalid},
		{name: "json patch malformed", pt: string(types.JSONPatchType),
			patch: `{"op":"replace"}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "merge malformed", pt: string(types.MergePatchType),
			patch: `{"metadata":`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "stale resourceVersion", pt: string(types.MergePatchType),
			patch: `{"metadata":{"resourceVersion":"1","labels":{"x":"y"}}}`, wantCode: 409, wantReason: metav1.StatusReasonConflict},
		{name: "result invalid", pt: string(types.MergePatchType),
			patch: `{"spec":{"type":"Bogus"}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid},
		{name: "unsupported type", pt: "application/json",
			patch: `{}`, wantCode: 415, wantReason: metav1.StatusReasonUnsupportedMediaType},
		{name: "force on a merge patch", pt: string(types.MergePatchType), query: "?force=true",
			patch: `{}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid},
		{name: "strict unknown field", pt: string(types.MergePatchType), query: "?fieldValidation=Strict",
			patch: `{"spec":{"bogus":1}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid},
		{name: "strict unknown field in strategic", pt: string(types.StrategicMergePatchType), query: "?fieldValidation=Strict",
			patch: `{"spec":{"bogus":1}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid},
		{name: "warn unknown field", pt: string(types.MergePatchType), query: "?fieldValidation=Warn",
			patch: `{"spec":{"bogus":1}}`, wantCode: 200, wantPorts: "http:80>80,https:443>443", wantWarning: `unknown field \"spec.bogus\"`},
		{name: "ignore unknown field", pt: string(types.MergePatchType), query: "?fieldValidation=Ignore",
			patch: `{"spec":{"bogus":1}}`, wantCode: 200, wantPorts: "http:80>80,https:443>443"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "p" + string(rune('a'+i))
			s.createSvc("pt", twoPorts(name))
			r := s.do(http.MethodPatch, "/api/v1/namespaces/pt/services/"+name+tc.query, tc.patch, "Content-Type", tc.pt)
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			warning := r.header.Get("Warning")
			if !strings.Contains(warning, tc.wantWarning) || (tc.wantWarning == "" && warning != "") {
				t.Errorf("Warning = %q; want %q", warning, tc.wantWarning)
			}
			if r.code != 200 {
				if st := r.status(t); st.Reason != tc.wantReason {
					t.Errorf("reason = %s (%s); want %s", st.Reason, st.Message, tc.wantReason)
				}
				return
			}
			var got corev1.Service
			r.into(t, &got)
			if ps := portSummary(&got); ps != tc.wantPorts {
				t.Errorf("ports = %s; want %s", ps, tc.wantPorts)
			}
			if tc.wantLabel != "" {
				k, v, _ := strings.Cut(tc.wantLabel, "=")
				if got.Labels[k] != v || (k == "new" && tc.pt == string(types.MergePatchType) && got.Labels["app"] != "") {
					t.Errorf("labels = %v; want %s", got.Labels, tc.wantLabel)
				}
			}
		})
	}
	t.Run("missing object", func(t *testing.T) {
		r := s.do(http.MethodPatch, "/api/v1/namespaces/pt/services/missing", `{}`, "Content-Type", string(types.MergePatchType))
		if r.code != 404 {
			t.Errorf("code = %d; want 404", r.code)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		cs := s.client().CoreV1().Services("pt")
		s.createSvc("pt", twoPorts("dry"))
		got, err := cs.Patch(context.Background(), "dry", types.MergePatchType, []byte(`{"metadata":{"labels":{"dry":"yes"}}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || got.Labels["dry"] != "yes" {
			t.Fatalf("dry-run patch = %v, %v", got, err)
		}
		after, err := cs.Get(context.Background(), "dry", metav1.GetOptions{})
		if err != nil || after.Labels["dry"] != "" {
			t.Errorf("after dry run labels = %v (%v); want unchanged", after.Labels, err)
		}
	})
}

// TestFieldValidationOnCreate checks Strict, Warn and Ignore on a create body.
func TestFieldValidationOnCreate(t *testing.T) {
	s := startServer(t, "fv")
	body := func(name string) string {
		return `{"apiVersion":"v1","kind":"Service","metadata":{"name":"` + name + `","bogus":1},"spec":{"ports":[{"port":80}],"ports2":[]}}`
	}
	tests := []struct {
		name        string
		directive   string
		wantCode    int
		wantWarning []string
	}{
		{name: "strict", directive: "Strict", wantCode: 400},
		{name: "warn", directive: "Warn", wantCode: 201, wantWarning: []string{`unknown field \"metadata.bogus\"`, `unknown field \"spec.ports2\"`}},
		{name: "default is warn", directive: "", wantCode: 201, wantWarning: []string{`unknown field \"metadata.bogus\"`}},
		{name: "ignore", directive: "Ignore", wantCode: 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := ""
			if tc.directive != "" {
				q = "?fieldValidation=" + tc.directive
			}
			r := s.do(http.MethodPost, "/api/v1/namespaces/fv/services"+q, body(strings.ToLower(strings.ReplaceAll(tc.name, " ", "-"))))
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			warnings := strings.Join(r.header.Values("Warning"), "\n")
			for _, w := range tc.wantWarning {
				if !strings.Contains(warnings, "299 - \""+w) {
					t.Errorf("Warning headers %q lack %q", warnings, w)
				}
			}
			if len(tc.wantWarning) == 0 && warnings != "" {
				t.Errorf("Warning headers = %q; want none", warnings)
			}
			if r.code == 400 {
				if st := r.status(t); !strings.Contains(st.Message, `strict decoding error: unknown field "metadata.bogus"`) {
					t.Errorf("message = %q; want the strict decoding error", st.Message)
				}
			}
		})
	}
}

// TestServerSideApply checks apply: create, conflicts, force, managedFields and
// no-op applies.
func TestServerSideApply(t *testing.T) {
	s := startServer(t, "ssa")
	ctx := context.Background()
	const path = "/api/v1/namespaces/ssa/services/web"
	apply := func(manager, force, body string) response {
		q := "?fieldManager=" + manager
		if force != "" {
			q += "&force=" + force
		}
		return s.do(http.MethodPatch, path+q, body, "Content-Type", string(types.ApplyYAMLPatchType))
	}
	const first = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    owner: alice\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n"

	r := apply("alice", "", first)
	if r.code != http.StatusCreated {
		t.Fatalf("first apply = %d; want 201 (body %s)", r.code, r.body)
	}
	var created corev1.Service
	r.into(t, &created)
	if m := managerOf(created.ManagedFields, "alice"); m == nil || m.Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managedFields = %+v; want an Apply entry for alice", created.ManagedFields)
	}

	r = apply("alice", "", first)
	var again corev1.Service
	r.into(t, &again)
	if r.code != 200 || again.ResourceVersion != created.ResourceVersion {
		t.Errorf("same apply = %d rv %s; want 200 and unchanged rv %s", r.code, again.ResourceVersion, created.ResourceVersion)
	}

	const bob = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    owner: bob\n"
	r = apply("bob", "", bob)
	if r.code != http.StatusConflict {
		t.Fatalf("conflicting apply = %d; want 409 (body %s)", r.code, r.body)
	}
	st := r.status(t)
	if st.Reason != metav1.StatusReasonConflict || st.Details == nil || len(st.Details.Causes) != 1 ||
		st.Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict || st.Details.Causes[0].Field != ".metadata.labels.owner" {
		t.Errorf("conflict status = %+v; want one FieldManagerConflict cause on .metadata.labels.owner", st)
	}

	r = apply("bob", "true", bob)
	var forced corev1.Service
	r.into(t, &forced)
	if r.code != 200 || forced.Labels["owner"] != "bob" || managerOf(forced.ManagedFields, "bob") == nil {
		t.Errorf("forced apply = %d labels %v managers %+v; want owner=bob managed by bob", r.code, forced.Labels, forced.ManagedFields)
	}
	if forced.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("forced apply dropped alice's port: %+v", forced.Spec.Ports)
	}

	// An update records its manager with the Update operation.
	cur := forced.DeepCopy()
	cur.Annotations = map[string]string{"note": "x"}
	updated, err := s.client().CoreV1().Services("ssa").Update(ctx, cur, metav1.UpdateOptions{FieldManager: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if m := managerOf(updated.ManagedFields, "carol"); m == nil || m.Operation != metav1.ManagedFieldsOperationUpdate {
		t.Errorf("managedFields = %+v; want an Update entry for carol", updated.ManagedFields)
	}

	tests := []struct {
		name     string
		path     string
		query    string
		body     string
		wantCode int
	}{
		{name: "no field manager", path: path, query: "", body: first, wantCode: 422},
		{name: "kind mismatch", path: path, query: "?fieldManager=x", body: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n", wantCode: 400},
		{name: "name mismatch", path: path, query: "?fieldManager=x", body: "apiVersion: v1\nkind: Service\nmetadata:\n  name: other\n", wantCode: 400},
		{name: "malformed YAML", path: path, query: "?fieldManager=x", body: "a: [", wantCode: 400},
		{name: "create on apply for any resource", path: "/api/v1/namespaces/ssa/services/fresh", query: "?fieldManager=x", body: "apiVersion: v1\nkind: Service\nmetadata:\n  name: fresh\nspec:\n  ports:\n  - port: 1\n", wantCode: 201},
		{name: "status of a missing object", path: "/api/v1/namespaces/ssa/services/none/status", query: "?fieldManager=x", body: "apiVersion: v1\nkind: Service\nmetadata:\n  name: none\n", wantCode: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodPatch, tc.path+tc.query, tc.body, "Content-Type", string(types.ApplyYAMLPatchType))
			if r.code != tc.wantCode {
				t.Errorf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
		})
	}

	t.Run("client-go apply", func(t *testing.T) {
		cs := s.client().CoreV1().Services("ssa")
		got, err := cs.Patch(ctx, "web", types.ApplyPatchType, []byte(bob), metav1.PatchOptions{FieldManager: "bob"})
		if err != nil || got.Labels["owner"] != "bob" {
			t.Errorf("apply through client-go = %v, %v", got, err)
		}
		_, err = cs.Patch(ctx, "web", types.ApplyPatchType, []byte(first), metav1.PatchOptions{FieldManager: "alice"})
		if !apierrors.IsConflict(err) {
			t.Errorf("conflicting apply through client-go: %v; want Conflict", err)
		}
	})
}

func managerOf(entries []metav1.ManagedFieldsEntry, name string) *metav1.ManagedFieldsEntry {
	for i := range entries {
		if entries[i].Manager == name {
			return &entries[i]
		}
	}
	return nil
}
