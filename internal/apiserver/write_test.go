package apiserver

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestCreate checks POST on collections.
func TestCreate(t *testing.T) {
	s := startServer(t, "cr")
	s.createSvc("cr", svc("taken", nil))
	const path = "/api/v1/namespaces/cr/services"
	tests := []struct {
		name       string
		path       string
		query      string
		body       string
		wantCode   int
		wantReason metav1.StatusReason
		wantMsg    string
		// wantStored is the name that must exist afterwards ("" checks nothing).
		wantStored string
	}{
		{name: "plain", body: mustJSON(t, svc("plain", nil)), wantCode: 201, wantStored: "plain"},
		{name: "namespace from the URL", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"nsless"},"spec":{"ports":[{"port":1}]}}`, wantCode: 201, wantStored: "nsless"},
		{name: "already exists", body: mustJSON(t, svc("taken", nil)), wantCode: 409, wantReason: metav1.StatusReasonAlreadyExists, wantMsg: `services "taken" already exists`},
		{name: "namespace mismatch", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"m","namespace":"other"},"spec":{"ports":[{"port":1}]}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMsg: "does not match the namespace"},
		{name: "missing namespace", path: "/api/v1/namespaces/nope/services", body: mustJSON(t, svc("x", nil)), wantCode: 404, wantReason: metav1.StatusReasonNotFound, wantMsg: `namespaces "nope" not found`},
		{name: "invalid object", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"noports"}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMsg: "spec.ports: Required value"},
		{name: "wrong kind", body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "wrong version", body: `{"apiVersion":"v2","kind":"Service","metadata":{"name":"p"}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "malformed JSON", body: `{"apiVersion":`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "dryRun unknown value", query: "?dryRun=Yes", body: mustJSON(t, svc("dry", nil)), wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMsg: "dryRun"},
		{name: "fieldValidation is case sensitive", query: "?fieldValidation=strict", body: mustJSON(t, svc("fv", nil)), wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMsg: "fieldValidation"},
		{name: "on the all-namespaces path", path: "/api/v1/services", body: mustJSON(t, svc("nowhere", nil)), wantCode: 405, wantReason: metav1.StatusReasonMethodNotAllowed},
		{name: "on a named path", path: path + "/taken", body: mustJSON(t, svc("taken", nil)), wantCode: 405, wantReason: metav1.StatusReasonMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if p == "" {
				p = path
			}
			r := s.do(http.MethodPost, p+tc.query, tc.body)
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if r.code >= 300 {
				st := r.status(t)
				if st.Reason != tc.wantReason || !strings.Contains(st.Message, tc.wantMsg) || st.Code != int32(tc.wantCode) {
					t.Errorf("status = %d %s %q; want %d %s containing %q", st.Code, st.Reason, st.Message, tc.wantCode, tc.wantReason, tc.wantMsg)
				}
			}
			if tc.wantStored != "" {
				got, err := s.client().CoreV1().Services("cr").Get(context.Background(), tc.wantStored, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("get %s: %v", tc.wantStored, err)
				}
				// Services carry no generation in kube-apiserver.
				if got.UID == "" || got.Generation != 0 || got.CreationTimestamp.IsZero() || got.Namespace != "cr" {
					t.Errorf("server-owned metadata not set: %+v", got.ObjectMeta)
				}
			}
		})
	}
	// Nothing reached the all-namespaces key space.
	list, err := s.client().CoreV1().Services("").List(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=nowhere"})
	if err != nil || len(list.Items) != 0 {
		t.Errorf("list of nowhere = %v, %v; want nothing", list, err)
	}
}

// TestCreateGenerateNameAndDryRun checks generated names and dry runs.
func TestCreateGenerateNameAndDryRun(t *testing.T) {
	s := startServer(t, "gen")
	ctx := context.Background()
	cs := s.client().CoreV1().Services("gen")
	obj := svc("", nil)
	obj.GenerateName = "web-"
	got, err := cs.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create with generateName: %v", err)
	}
	if !strings.HasPrefix(got.Name, "web-") || len(got.Name) != len("web-")+5 {
		t.Errorf("generated name = %q; want web- and five characters", got.Name)
	}

	dry, err := cs.Create(ctx, svc("dry", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("dry-run create: %v", err)
	}
	if dry.Name != "dry" || dry.UID == "" {
		t.Errorf("dry-run result = %+v; want the prepared object", dry.ObjectMeta)
	}
	if _, err := cs.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after dry-run create: %v; want NotFound", err)
	}
}

// TestUpdate checks PUT: conditional and unconditional writes, no-op updates,
// create on update and subresources.
func TestUpdate(t *testing.T) {
	s := startServer(t, "up")
	ctx := context.Background()
	cs := s.client().CoreV1().Services("up")
	orig := s.createSvc("up", svc("web", map[string]string{"v": "1"}))

	t.Run("unconditional", func(t *testing.T) {
		obj := orig.DeepCopy()
		obj.ResourceVersion = ""
		obj.Labels["v"] = "2"
		got, err := cs.Update(ctx, obj, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if got.ResourceVersion == orig.ResourceVersion || got.Labels["v"] != "2" || got.UID != orig.UID {
			t.Errorf("updated = rv %s labels %v uid %s; want a new rv, v=2 and the same uid", got.ResourceVersion, got.Labels, got.UID)
		}
	})
	t.Run("stale resourceVersion", func(t *testing.T) {
		obj := orig.DeepCopy()
		obj.Labels["v"] = "3"
		_, err := cs.Update(ctx, obj, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified") {
			t.Errorf("update at a stale rv: %v; want Conflict", err)
		}
	})
	t.Run("no change keeps the resourceVersion", func(t *testing.T) {
		cur, err := cs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := cs.Update(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if got.ResourceVersion != cur.ResourceVersion {
			t.Errorf("resourceVersion = %s; want unchanged %s", got.ResourceVersion, cur.ResourceVersion)
		}
	})
	t.Run("server-owned metadata is kept", func(t *testing.T) {
		cur, err := cs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		obj := cur.DeepCopy()
		obj.CreationTimestamp = metav1.NewTime(cur.CreationTimestamp.Add(-time.Hour))
		obj.Generation = 7
		obj.Labels["v"] = "4"
		got, err := cs.Update(ctx, obj, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if got.UID != cur.UID || !got.CreationTimestamp.Equal(&cur.CreationTimestamp) || got.Generation != cur.Generation {
			t.Errorf("uid %s created %v generation %d; want %s %v %d", got.UID, got.CreationTimestamp, got.Generation, cur.UID, cur.CreationTimestamp, cur.Generation)
		}
	})
	t.Run("uid is a precondition", func(t *testing.T) {
		cur, err := cs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		obj := cur.DeepCopy()
		obj.UID = "forged"
		obj.ResourceVersion = ""
		_, err = cs.Update(ctx, obj, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Precondition failed: UID in precondition: forged") {
			t.Errorf("update with another uid: %v; want Conflict", err)
		}
		patch := `{"metadata":{"uid":"forged"}}`
		_, err = cs.Patch(ctx, "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.uid") {
			t.Errorf("patch of the uid: %v; want Invalid on metadata.uid", err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		cur, err := cs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		obj := cur.DeepCopy()
		obj.Labels["v"] = "dry"
		got, err := cs.Update(ctx, obj, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || got.Labels["v"] != "dry" {
			t.Fatalf("dry-run update = %v, %v", got, err)
		}
		after, err := cs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil || after.Labels["v"] == "dry" || after.ResourceVersion != cur.ResourceVersion {
			t.Errorf("after dry-run update: labels %v rv %s (%v); want unchanged", after.Labels, after.ResourceVersion, err)
		}
	})
	t.Run("status is written only through status", func(t *testing.T) {
		cur, err := cs.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conds := []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Tested", LastTransitionTime: metav1.Now()}}
		obj := cur.DeepCopy()
		obj.Status.Conditions = conds
		got, err := cs.Update(ctx, obj, metav1.UpdateOptions{})
		if err != nil || len(got.Status.Conditions) != 0 {
			t.Fatalf("main update = %v, %v; want status dropped", got.Status, err)
		}
		obj = got.DeepCopy()
		obj.Status.Conditions = conds
		obj.Labels["v"] = "from-status"
		obj.Spec.Ports[0].Port = 81
		got, err = cs.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("status update: %v", err)
		}
		if len(got.Status.Conditions) != 1 || got.Spec.Ports[0].Port != 80 || got.Labels["v"] == "from-status" {
			t.Errorf("status update = status %v port %d labels %v; want only status changed", got.Status, got.Spec.Ports[0].Port, got.Labels)
		}
	})

	tests := []struct {
		name       string
		path       string
		body       string
		wantCode   int
		wantReason metav1.StatusReason
	}{
		{name: "missing object", path: "/api/v1/namespaces/up/services/missing", body: mustJSON(t, svc("missing", nil)), wantCode: 404, wantReason: metav1.StatusReasonNotFound},
		{name: "name mismatch", path: "/api/v1/namespaces/up/services/web", body: mustJSON(t, svc("other", nil)), wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "create on update", path: "/api/v1/namespaces/up/endpoints/made", body: `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"made"}}`, wantCode: 201},
		{name: "update of a collection", path: "/api/v1/namespaces/up/services", body: mustJSON(t, svc("web", nil)), wantCode: 405, wantReason: metav1.StatusReasonMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodPut, tc.path, tc.body)
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if r.code >= 300 {
				if st := r.status(t); st.Reason != tc.wantReason {
					t.Errorf("reason = %s; want %s", st.Reason, tc.wantReason)
				}
			}
		})
	}
}

// TestDelete checks what DELETE answers and its preconditions.
func TestDelete(t *testing.T) {
	s := startServer(t, "del")
	ctx := context.Background()
	cs := s.client().CoreV1()
	epBody := func(name string) string {
		return `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"` + name + `"}}`
	}

	t.Run("service returns the object", func(t *testing.T) {
		created := s.createSvc("del", svc("gone", nil))
		r := s.do(http.MethodDelete, "/api/v1/namespaces/del/services/gone", "")
		var got corev1.Service
		r.into(t, &got)
		if r.code != 200 || got.Kind != "Service" || got.UID != created.UID {
			t.Errorf("DELETE = %d %s %s; want 200 with the Service", r.code, got.Kind, got.UID)
		}
	})
	t.Run("endpoints return a Status", func(t *testing.T) {
		r := s.do(http.MethodPost, "/api/v1/namespaces/del/endpoints", epBody("ep"))
		var created corev1.Endpoints
		r.into(t, &created)
		r = s.do(http.MethodDelete, "/api/v1/namespaces/del/endpoints/ep", "")
		st := r.status(t)
		if r.code != 200 || st.Kind != "Status" || st.Status != metav1.StatusSuccess || st.Details == nil ||
			st.Details.Name != "ep" || st.Details.Kind != "endpoints" || st.Details.UID != created.UID {
			t.Errorf("DELETE = %d %s; want 200 Success Status naming endpoints ep %s", r.code, r.body, created.UID)
		}
	})
	t.Run("missing", func(t *testing.T) {
		err := cs.Services("del").Delete(ctx, "missing", metav1.DeleteOptions{})
		if !apierrors.IsNotFound(err) || err.Error() != `services "missing" not found` {
			t.Errorf("delete missing: %v; want NotFound", err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		s.createSvc("del", svc("dry", nil))
		if err := cs.Services("del").Delete(ctx, "dry", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Services("del").Get(ctx, "dry", metav1.GetOptions{}); err != nil {
			t.Errorf("get after dry-run delete: %v", err)
		}
	})

	created := s.createSvc("del", svc("guarded", nil))
	wrongUID := types.UID("00000000-0000-0000-0000-000000000000")
	stale := "1"
	tests := []struct {
		name       string
		opts       metav1.DeleteOptions
		wantReason metav1.StatusReason
		wantMsg    string
	}{
		{name: "uid precondition", opts: metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrongUID}}, wantReason: metav1.StatusReasonConflict, wantMsg: "does not match the UID in record"},
		{name: "resourceVersion precondition", opts: metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}}, wantReason: metav1.StatusReasonConflict, wantMsg: `Operation cannot be fulfilled on Service "`},
		{name: "resourceVersion precondition names the versions", opts: metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}}, wantReason: metav1.StatusReasonConflict, wantMsg: "the ResourceVersion in the precondition (1) does not match the ResourceVersion in record ("},
		{name: "unknown propagation", opts: metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletionPropagation("Sideways"))}, wantReason: metav1.StatusReasonInvalid, wantMsg: "propagationPolicy"},
		{name: "unknown dry run", opts: metav1.DeleteOptions{DryRun: []string{"Some"}}, wantReason: metav1.StatusReasonInvalid, wantMsg: "dryRun"},
		{name: "matching preconditions", opts: metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &created.UID, ResourceVersion: &created.ResourceVersion}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := cs.Services("del").Delete(ctx, "guarded", tc.opts)
			if errReason(err) != tc.wantReason || (err != nil && !strings.Contains(err.Error(), tc.wantMsg)) {
				t.Errorf("delete = %v; want reason %q containing %q", err, tc.wantReason, tc.wantMsg)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestFinalizers checks that finalizers hold deletion until the last is removed.
func TestFinalizers(t *testing.T) {
	s := startServer(t, "fin")
	ctx := context.Background()
	cs := s.client().CoreV1().Services("fin")
	obj := svc("held", nil)
	obj.Finalizers = []string{"example.com/a", "example.com/b"}
	created := s.createSvc("fin", obj)

	r := s.do(http.MethodDelete, "/api/v1/namespaces/fin/services/held", "")
	var marked corev1.Service
	r.into(t, &marked)
	if r.code != 200 {
		t.Errorf("DELETE of a held object = %d; want 200 as kube-apiserver answers", r.code)
	}
	if marked.DeletionTimestamp == nil || marked.DeletionGracePeriodSeconds == nil || *marked.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("marked = %+v; want deletionTimestamp and a zero grace period", marked.ObjectMeta)
	}
	// Deletion moves on only a generation a kind carries; Services carry none.
	if created.Generation != 0 || marked.Generation != 0 {
		t.Errorf("generation %d, then %d when marked; want 0 and 0 for a Service", created.Generation, marked.Generation)
	}
	// A second delete changes nothing.
	r = s.do(http.MethodDelete, "/api/v1/namespaces/fin/services/held", "")
	var again corev1.Service
	r.into(t, &again)
	if r.code != 200 || again.ResourceVersion != marked.ResourceVersion || !again.DeletionTimestamp.Equal(marked.DeletionTimestamp) {
		t.Errorf("second DELETE = %d rv %s; want 200 and the object unchanged at %s", r.code, again.ResourceVersion, marked.ResourceVersion)
	}

	t.Run("no new finalizers", func(t *testing.T) {
		cur := again.DeepCopy()
		cur.Finalizers = []string{"example.com/a", "example.com/c"}
		_, err := cs.Update(ctx, cur, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "no new finalizers can be added if the object is being deleted") {
			t.Errorf("swap a finalizer while deleting: %v; want Invalid", err)
		}
	})
	t.Run("removing one keeps the object", func(t *testing.T) {
		cur := again.DeepCopy()
		cur.Finalizers = []string{"example.com/b"}
		got, err := cs.Update(ctx, cur, metav1.UpdateOptions{})
		if err != nil || len(got.Finalizers) != 1 {
			t.Fatalf("remove one finalizer = %v, %v", got, err)
		}
		again = *got
	})
	t.Run("removing the last deletes", func(t *testing.T) {
		patch := `{"metadata":{"finalizers":null}}`
		if _, err := cs.Patch(ctx, "held", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatalf("remove the last finalizer: %v", err)
		}
		if _, err := cs.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get after the last finalizer went: %v; want NotFound", err)
		}
	})
}

// TestNamespaceDeletion checks that spec finalizers hold a namespace, that it
// refuses new content while terminating, and that finalize removes it.
func TestNamespaceDeletion(t *testing.T) {
	s := startServer(t, "doomed")
	ctx := context.Background()
	cs := s.client().CoreV1()
	if err := cs.Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
	ns, err := cs.Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("namespace after delete = %+v, %v; want Terminating", ns, err)
	}
	_, err = cs.Services("doomed").Create(ctx, svc("late", nil), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		t.Errorf("create in a terminating namespace: %v; want Forbidden with the NamespaceTerminating cause", err)
	}
	ns.Spec.Finalizers = nil
	if _, err := cs.Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := cs.Namespaces().Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after finalize: %v; want NotFound", err)
	}
}

// TestDeleteCollection checks DELETE on collections.
func TestDeleteCollection(t *testing.T) {
	s := startServer(t, "dc", "keep")
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c"} {
		tier := "front"
		if n == "c" {
			tier = "back"
		}
		s.createSvc("dc", svc(n, map[string]string{"tier": tier}))
	}
	s.createSvc("keep", svc("k", map[string]string{"tier": "front"}))

	r := s.do(http.MethodDelete, "/api/v1/services?labelSelector=tier%3Dfront", "")
	if r.code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE on the all-namespaces path = %d; want 405 (body %s)", r.code, r.body)
	}
	r = s.do(http.MethodDelete, "/api/v1/namespaces", "")
	if r.code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE of all namespaces = %d; want 405", r.code)
	}
	r = s.do(http.MethodDelete, "/api/v1/namespaces/dc/services?labelSelector=tier%3Dfront", "")
	var deleted corev1.ServiceList
	r.into(t, &deleted)
	if r.code != 200 || deleted.Kind != "ServiceList" || len(names(deleted.Items)) != 2 {
		t.Errorf("deletecollection = %d %v; want 200 with a and b", r.code, names(deleted.Items))
	}
	left, err := s.client().CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range left.Items {
		got = append(got, it.Namespace+"/"+it.Name)
	}
	if strings.Join(got, ",") != "dc/c,keep/k" {
		t.Errorf("left = %v; want [dc/c keep/k]", got)
	}
}
