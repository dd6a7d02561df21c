package apiserver

import (
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// toTable renders objects as a meta.k8s.io/v1 Table, as kubectl asks for.
func (s *Server) toTable(r *http.Request, res *Resource, items []runtime.Object, lm metav1.ListMeta, withHeader bool) (*metav1.Table, error) {
	include := r.URL.Query().Get("includeObject")
	switch include {
	case "", "Metadata", "Object", "None":
	default:
		return nil, apierrors.NewBadRequest("includeObject must be one of None, Metadata, Object")
	}
	t := &metav1.Table{ListMeta: lm}
	t.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("Table"))
	if withHeader {
		t.ColumnDefinitions = res.Strategy.TableColumns()
	}
	now := time.Now()
	t.Rows = make([]metav1.TableRow, 0, len(items))
	for _, it := range items {
		row := metav1.TableRow{Cells: res.Strategy.TableRow(it, now)}
		switch include {
		case "", "Metadata":
			row.Object = runtime.RawExtension{Object: partial(it)}
		case "Object":
			it.GetObjectKind().SetGroupVersionKind(res.GVK())
			row.Object = runtime.RawExtension{Object: it}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func defaultColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}

func defaultRow(obj runtime.Object, now time.Time) []any {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return []any{"", "<unknown>"}
	}
	age := "<unknown>"
	if ts := acc.GetCreationTimestamp(); !ts.IsZero() {
		age = duration.HumanDuration(now.Sub(ts.Time))
	}
	return []any{acc.GetName(), age}
}

func defaultFields(obj runtime.Object) fields.Set {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return fields.Set{}
	}
	return fields.Set{"metadata.name": acc.GetName(), "metadata.namespace": acc.GetNamespace()}
}
