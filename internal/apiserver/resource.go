package apiserver

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/svcnet/svcnet/internal/storage"
)

// Resource describes one served resource.
type Resource struct {
	Group, Version, Resource, Kind, ListKind, SingularName string
	Namespaced                                             bool
	ShortNames, Categories                                 []string
	// Subresources lists the served subresources ("status", "finalize").
	Subresources []string
	// NoDeleteCollection removes the deletecollection verb (namespaces).
	NoDeleteCollection bool
	New, NewList       func() runtime.Object
	Strategy           Strategy
	// Deprecation, when set, is a warning every response about this resource
	// carries (kube-apiserver's "v1 Endpoints is deprecated in v1.33+; ...").
	Deprecation string
}

// GroupVersion returns the resource's group and version.
func (r *Resource) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// GVK returns the group, version and kind of the resource's objects.
func (r *Resource) GVK() schema.GroupVersionKind { return r.GroupVersion().WithKind(r.Kind) }

// GroupResource returns the group and resource name, as Status details name them.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}
}

func (r *Resource) hasSubresource(name string) bool {
	for _, s := range r.Subresources {
		if s == name {
			return true
		}
	}
	return false
}

// Strategy is what the generic REST code needs from one resource. Objects passed in
// are of the resource's type; implementations may mutate obj but never old.
type Strategy interface {
	Default(obj runtime.Object)
	PrepareForCreate(obj runtime.Object)
	PrepareForUpdate(obj, old runtime.Object, subresource string)
	ValidateCreate(obj runtime.Object) field.ErrorList
	ValidateUpdate(obj, old runtime.Object, subresource string) field.ErrorList
	TableColumns() []metav1.TableColumnDefinition
	TableRow(obj runtime.Object, now time.Time) []any
	SelectableFields(obj runtime.Object) fields.Set
}

// CreateHook lets a resource add storage ops (allocation records) to a create, or
// refuse it. It runs after validation and may fill fields (allocated values) of obj.
// With dryRun nothing will be persisted, so it must reserve nothing outside the ops.
type CreateHook interface {
	BeforeCreate(ctx context.Context, obj runtime.Object, dryRun bool) ([]storage.Op, error)
}

// UpdateHook lets a resource add storage ops to an update of the main resource.
type UpdateHook interface {
	BeforeUpdate(ctx context.Context, obj, old runtime.Object, dryRun bool) ([]storage.Op, error)
}

// DeleteHook lets a resource add storage ops to the final removal of an object.
type DeleteHook interface {
	BeforeDelete(ctx context.Context, obj runtime.Object) ([]storage.Op, error)
}

// Warner is implemented by strategies with something to tell the client about a
// valid object it writes through the main resource (kube-apiserver's
// WarningsOnCreate and WarningsOnUpdate): fields that are ignored or deprecated,
// values in a form that will be refused one day.
type Warner interface {
	WarningsOnCreate(obj runtime.Object) []string
	WarningsOnUpdate(obj, old runtime.Object) []string
}

// GracefulDeleter decides whether a delete only marks the object (returning the
// grace period to record) instead of removing it, as pods do.
type GracefulDeleter interface {
	GracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) (seconds int64, graceful bool)
}

// Typed adapts plain typed functions of a registry package to a Strategy.
type Typed[T runtime.Object] struct {
	DefaultFn              func(T)
	PrepareForCreateFn     func(T)
	PrepareForUpdateFn     func(obj, old T)
	PrepareForStatusFn     func(obj, old T)
	PrepareForFinalizeFn   func(obj, old T)
	ValidateCreateFn       func(T) field.ErrorList
	ValidateUpdateFn       func(obj, old T) field.ErrorList
	ValidateStatusUpdateFn func(obj, old T) field.ErrorList
	// ValidateFinalizeFn validates writes through "finalize"; ValidateUpdateFn
	// does when it is nil.
	ValidateFinalizeFn func(obj, old T) field.ErrorList
	TableColumnsFn     func() []metav1.TableColumnDefinition
	TableRowFn         func(T, time.Time) []any
	SelectableFieldsFn func(T) fields.Set
	WarningsFn         func(obj, old T) []string // old is the zero T on create
}

var (
	_ Strategy = Typed[*metav1.Status]{}
	_ Warner   = Typed[*metav1.Status]{}
)

// WarningsOnCreate implements Warner.
func (t Typed[T]) WarningsOnCreate(obj runtime.Object) []string {
	if t.WarningsFn == nil {
		return nil
	}
	var none T
	return t.WarningsFn(obj.(T), none)
}

// WarningsOnUpdate implements Warner.
func (t Typed[T]) WarningsOnUpdate(obj, old runtime.Object) []string {
	if t.WarningsFn == nil {
		return nil
	}
	return t.WarningsFn(obj.(T), old.(T))
}

// Default implements Strategy.
func (t Typed[T]) Default(obj runtime.Object) {
	if t.DefaultFn != nil {
		t.DefaultFn(obj.(T))
	}
}

// PrepareForCreate implements Strategy.
func (t Typed[T]) PrepareForCreate(obj runtime.Object) {
	if t.PrepareForCreateFn != nil {
		t.PrepareForCreateFn(obj.(T))
	}
}

// PrepareForUpdate implements Strategy.
func (t Typed[T]) PrepareForUpdate(obj, old runtime.Object, sub string) {
	var fn func(obj, old T)
	switch sub {
	case "":
		fn = t.PrepareForUpdateFn
	case "status":
		fn = t.PrepareForStatusFn
	case "finalize":
		fn = t.PrepareForFinalizeFn
	}
	if fn != nil {
		fn(obj.(T), old.(T))
	}
}

// ValidateCreate implements Strategy.
func (t Typed[T]) ValidateCreate(obj runtime.Object) field.ErrorList {
	if t.ValidateCreateFn == nil {
		return nil
	}
	return t.ValidateCreateFn(obj.(T))
}

// ValidateUpdate implements Strategy.
func (t Typed[T]) ValidateUpdate(obj, old runtime.Object, sub string) field.ErrorList {
	fn := t.ValidateUpdateFn
	switch {
	case sub == "status" && t.ValidateStatusUpdateFn != nil:
		fn = t.ValidateStatusUpdateFn
	case sub == "finalize" && t.ValidateFinalizeFn != nil:
		fn = t.ValidateFinalizeFn
	}
	if fn == nil {
		return nil
	}
	return fn(obj.(T), old.(T))
}

// TableColumns implements Strategy.
func (t Typed[T]) TableColumns() []metav1.TableColumnDefinition {
	if t.TableColumnsFn == nil {
		return defaultColumns()
	}
	return t.TableColumnsFn()
}

// TableRow implements Strategy.
func (t Typed[T]) TableRow(obj runtime.Object, now time.Time) []any {
	if t.TableRowFn == nil {
		return defaultRow(obj, now)
	}
	return t.TableRowFn(obj.(T), now)
}

// SelectableFields implements Strategy.
func (t Typed[T]) SelectableFields(obj runtime.Object) fields.Set {
	if t.SelectableFieldsFn == nil {
		return defaultFields(obj)
	}
	return t.SelectableFieldsFn(obj.(T))
}
