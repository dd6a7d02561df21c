package namespace

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// created returns a namespace as the server would store it after a create.
func created(name string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	Default(ns)
	PrepareForCreate(ns)
	ns.ResourceVersion = "3"
	return ns
}

func TestDefaultAndPrepareForCreate(t *testing.T) {
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{corev1.LabelMetadataName: "spoofed", "env": "dev"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/cleanup"}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
	Default(ns)
	PrepareForCreate(ns)
	if want := map[string]string{corev1.LabelMetadataName: "team-a", "env": "dev"}; !reflect.DeepEqual(ns.Labels, want) {
		t.Errorf("labels = %v; want %v", ns.Labels, want)
	}
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("phase = %q; want Active", ns.Status.Phase)
	}
	if want := []corev1.FinalizerName{"example.com/cleanup", corev1.FinalizerKubernetes}; !reflect.DeepEqual(ns.Spec.Finalizers, want) {
		t.Errorf("finalizers = %v; want %v", ns.Spec.Finalizers, want)
	}
	// The finalizer is not added twice.
	PrepareForCreate(ns)
	if len(ns.Spec.Finalizers) != 2 {
		t.Errorf("finalizers after second prepare = %v; want 2 entries", ns.Spec.Finalizers)
	}
}

func TestPrepareForUpdates(t *testing.T) {
	old := created("team-a")
	old.Status.Phase = corev1.NamespaceTerminating
	tests := []struct {
		name       string
		prepare    func(ns, old *corev1.Namespace)
		wantFin    []corev1.FinalizerName
		wantPhase  corev1.NamespacePhase
		wantLabels string
	}{
		{name: "main keeps finalizers and status", prepare: PrepareForUpdate, wantFin: []corev1.FinalizerName{"kubernetes"}, wantPhase: corev1.NamespaceTerminating},
		{name: "status keeps spec", prepare: PrepareForStatusUpdate, wantFin: []corev1.FinalizerName{"kubernetes"}, wantPhase: corev1.NamespaceActive},
		{name: "finalize keeps status", prepare: PrepareForFinalize, wantFin: nil, wantPhase: corev1.NamespaceTerminating},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := old.DeepCopy()
			ns.Spec.Finalizers = nil
			ns.Status.Phase = corev1.NamespaceActive
			tc.prepare(ns, old)
			if !reflect.DeepEqual(ns.Spec.Finalizers, tc.wantFin) {
				t.Errorf("finalizers = %v; want %v", ns.Spec.Finalizers, tc.wantFin)
			}
			if ns.Status.Phase != tc.wantPhase {
				t.Errorf("phase = %q; want %q", ns.Status.Phase, tc.wantPhase)
			}
		})
	}
}

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ns *corev1.Namespace)
		want   []registrytest.WantErr
	}{
		{name: "valid", mutate: func(*corev1.Namespace) {}},
		{name: "qualified finalizer", mutate: func(ns *corev1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "example.com/x") }},
		{
			name:   "name with dot is not a label",
			mutate: func(ns *corev1.Namespace) { ns.Name = "team.a"; ns.Labels[corev1.LabelMetadataName] = "team.a" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name"}},
		},
		{
			name: "name too long",
			mutate: func(ns *corev1.Namespace) {
				n := strings.Repeat("a", 64)
				ns.Name = n
				ns.Labels[corev1.LabelMetadataName] = n
			},
			want: []registrytest.WantErr{
				{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "must be no more than 63 characters"},
				{Type: field.ErrorTypeInvalid, Field: "metadata.labels", Detail: "must be no more than 63 bytes"},
			},
		},
		{
			name:   "namespace set",
			mutate: func(ns *corev1.Namespace) { ns.Namespace = "default" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "metadata.namespace", Detail: "not allowed on this type"}},
		},
		{
			name:   "name label missing",
			mutate: func(ns *corev1.Namespace) { delete(ns.Labels, corev1.LabelMetadataName) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "metadata.labels[kubernetes.io/metadata.name]", Detail: "must be 'team-a'"}},
		},
		{
			name:   "name label differs",
			mutate: func(ns *corev1.Namespace) { ns.Labels[corev1.LabelMetadataName] = "other" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.labels[kubernetes.io/metadata.name]", Detail: "must be 'team-a'"}},
		},
		{
			name:   "unqualified unknown finalizer",
			mutate: func(ns *corev1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "cleanup") },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.finalizers",
				Detail: "name is neither a standard finalizer name nor is it fully qualified"}},
		},
		{
			name:   "malformed finalizer",
			mutate: func(ns *corev1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "example.com/a/b") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.finalizers"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := created("team-a")
			tc.mutate(ns)
			registrytest.CheckErrs(t, ValidateCreate(ns), tc.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ns *corev1.Namespace)
		want   []registrytest.WantErr
	}{
		{name: "add label", mutate: func(ns *corev1.Namespace) { ns.Labels["env"] = "prod" }},
		{name: "finalize removes kubernetes", mutate: func(ns *corev1.Namespace) { ns.Spec.Finalizers = nil }},
		{
			name:   "rename",
			mutate: func(ns *corev1.Namespace) { ns.Name = "team-b"; ns.Labels[corev1.LabelMetadataName] = "team-b" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "field is immutable"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := created("team-a")
			ns := old.DeepCopy()
			tc.mutate(ns)
			registrytest.CheckErrs(t, ValidateUpdate(ns, old), tc.want)
		})
	}
}

func TestValidateFinalizeUpdate(t *testing.T) {
	old := created("team-a")
	ns := old.DeepCopy()
	ns.Spec.Finalizers = []corev1.FinalizerName{"kubernetes", "bad_finalizer"}
	errs := ValidateFinalizeUpdate(ns, old)
	if len(errs) != 1 || errs[0].Field != "spec.finalizers[1]" {
		t.Errorf("errors %v; want one on spec.finalizers[1]", errs)
	}
	ns.Spec.Finalizers = nil
	if errs := ValidateFinalizeUpdate(ns, old); len(errs) > 0 {
		t.Errorf("removing the finalizer: %v", errs)
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	deleted := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name     string
		deleting bool
		phase    corev1.NamespacePhase
		want     []registrytest.WantErr
	}{
		{name: "active", phase: corev1.NamespaceActive},
		{name: "terminating while deleting", deleting: true, phase: corev1.NamespaceTerminating},
		{
			name: "terminating without deletion", phase: corev1.NamespaceTerminating,
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.Phase", Detail: "may only be 'Active' if `deletionTimestamp` is empty"}},
		},
		{
			name: "active while deleting", deleting: true, phase: corev1.NamespaceActive,
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.Phase", Detail: "may only be 'Terminating' if `deletionTimestamp` is not empty"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := created("team-a")
			if tc.deleting {
				old.DeletionTimestamp = &deleted
				old.DeletionGracePeriodSeconds = new(int64)
			}
			ns := old.DeepCopy()
			ns.Status.Phase = tc.phase
			registrytest.CheckErrs(t, ValidateStatusUpdate(ns, old), tc.want)
		})
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ns := created("team-a")
	ns.CreationTimestamp = metav1.NewTime(now.Add(-49 * time.Hour))
	if got, want := TableRow(ns, now), []any{"team-a", "Active", "2d1h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TableRow = %#v; want %#v", got, want)
	}
	var names []string
	for _, c := range TableColumns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Status", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v; want %v", names, want)
	}
}

func TestSelectableFields(t *testing.T) {
	ns := created("team-a")
	want := fields.Set{"metadata.name": "team-a", "name": "team-a", "status.phase": "Active"}
	if got := SelectableFields(ns); !reflect.DeepEqual(got, want) {
		t.Errorf("SelectableFields = %v; want %v", got, want)
	}
}
