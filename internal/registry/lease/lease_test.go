package lease

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ptr[T any](v T) *T { return &v }

func validLease() *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "svcnet-controllers", Namespace: "kube-system", ResourceVersion: "9"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr("server-1"),
			LeaseDurationSeconds: ptr(int32(15)),
			LeaseTransitions:     ptr(int32(0)),
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(l *coordinationv1.Lease)
		want   []registrytest.WantErr
	}{
		{name: "valid", mutate: func(*coordinationv1.Lease) {}},
		{name: "empty spec", mutate: func(l *coordinationv1.Lease) { l.Spec = coordinationv1.LeaseSpec{} }},
		{
			name:   "name not a DNS subdomain",
			mutate: func(l *coordinationv1.Lease) { l.Name = "Leader" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name"}},
		},
		{
			name:   "cluster-scoped lease",
			mutate: func(l *coordinationv1.Lease) { l.Namespace = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "metadata.namespace"}},
		},
		{
			name:   "zero duration",
			mutate: func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = ptr(int32(0)) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.leaseDurationSeconds", Detail: "must be greater than 0"}},
		},
		{
			name:   "negative transitions",
			mutate: func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = ptr(int32(-1)) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.leaseTransitions", Detail: "must be greater than or equal to 0"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/create", func(t *testing.T) {
			l := validLease()
			tc.mutate(l)
			registrytest.CheckErrs(t, ValidateCreate(l), tc.want)
		})
		t.Run(tc.name+"/update", func(t *testing.T) {
			old := validLease()
			l := old.DeepCopy()
			tc.mutate(l)
			want := tc.want
			if l.Name != old.Name {
				want = append([]registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "field is immutable"}}, want...)
			}
			if l.Namespace != old.Namespace {
				want = append([]registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.namespace", Detail: "field is immutable"}}, want...)
			}
			registrytest.CheckErrs(t, ValidateUpdate(l, old), want)
		})
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		holder *string
		want   []any
	}{
		{name: "held", holder: ptr("server-1"), want: []any{"l", "server-1", "10s"}},
		{name: "unheld", want: []any{"l", "", "10s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", CreationTimestamp: metav1.NewTime(now.Add(-10 * time.Second))}}
			l.Spec.HolderIdentity = tc.holder
			if got := TableRow(l, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TableRow = %#v; want %#v", got, tc.want)
			}
		})
	}
	var names []string
	for _, c := range TableColumns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Holder", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v; want %v", names, want)
	}
}

func TestSelectableFields(t *testing.T) {
	l := validLease()
	want := fields.Set{"metadata.name": "svcnet-controllers", "metadata.namespace": "kube-system"}
	if got := SelectableFields(l); !reflect.DeepEqual(got, want) {
		t.Errorf("SelectableFields = %v; want %v", got, want)
	}
}
