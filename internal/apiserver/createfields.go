package apiserver

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// createFields computes the managedFields of a newly created object: what
// FieldManager.UpdateNoErrors(empty object, obj, manager) computes, for about half
// its cost (bench/api creates spent a fifth of the server's CPU there). The field
// manager's pipeline does, for a create whose body carries no managedFields: two
// deep copies (conversion to the same version), the typed view of the empty live
// object, the typed view of obj, their comparison, then strips the metadata fields
// and the reset fields, and encodes one Update entry. Here the comparison and the
// filters are the same structured-merge-diff calls; the copies, the conversion of
// the empty object's reflection and the pipeline's bookkeeping are left out.
//
// Anything else (a body with managedFields, an empty manager, a failure) goes to
// the field manager itself; TestCreateFieldsMatchFieldManager pins the equality.
type createFields struct {
	fm       *managedfields.FieldManager
	newEmpty func() runtime.Object
	schema   *schema.Schema
	typeRef  schema.TypeRef
	// reset excludes the fields the subresources own (status), as the field
	// manager's reset fields do; nil when there are none.
	reset      fieldpath.Filter
	apiVersion string
}

// stripSet is what the field manager's stripMetaManager never records.
var stripSet = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

func newCreateFields(tc managedfields.TypeConverter, fm *managedfields.FieldManager, res *Resource) (*createFields, error) {
	empty := res.New()
	empty.GetObjectKind().SetGroupVersionKind(res.GVK())
	tv, err := tc.ObjectToTyped(empty, typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("typed view of an empty %s: %w", res.Kind, err)
	}
	gv := res.GroupVersion().String()
	return &createFields{
		fm:         fm,
		newEmpty:   res.New,
		schema:     tv.Schema(),
		typeRef:    tv.TypeRef(),
		reset:      resetFields(res, "")[fieldpath.APIVersion(gv)],
		apiVersion: gv,
	}, nil
}

// track records manager as the owner of every field obj sets, and returns obj.
func (c *createFields) track(obj runtime.Object, manager string) runtime.Object {
	if out, ok := c.fast(obj, manager); ok {
		return out
	}
	return c.fm.UpdateNoErrors(c.newEmpty(), obj, manager)
}

func (c *createFields) fast(obj runtime.Object, manager string) (runtime.Object, bool) {
	acc, err := meta.Accessor(obj)
	if err != nil || len(acc.GetManagedFields()) > 0 || manager == "" {
		return nil, false
	}
	// The empty live object as the field manager sees it: converted to its
	// version, so apiVersion and kind are set.
	empty := c.newEmpty()
	empty.GetObjectKind().SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	ev, err := value.NewValueReflect(empty)
	if err != nil {
		return nil, false
	}
	nv, err := value.NewValueReflect(obj)
	if err != nil {
		return nil, false
	}
	// Neither side is validated against the schema, as the field manager's
	// conversion does: both are Go values of the very types the schema describes,
	// so the only failures left are in list keys (a missing key field), which the
	// comparison meets too; it then fails and the field manager decides. That
	// check was a third of this function's cost.
	live := typed.AsTypedUnvalidated(ev, c.schema, c.typeRef)
	cur := typed.AsTypedUnvalidated(nv, c.schema, c.typeRef)
	cmp, err := live.Compare(cur)
	if err != nil {
		return nil, false
	}
	if c.reset != nil {
		cmp = cmp.FilterFields(c.reset)
	}
	// merge.Updater.Update for a manager that owned nothing: what the operation
	// added or changed, less the reset fields; then stripMetaManager's strip.
	set := cmp.Modified.Union(cmp.Added)
	if c.reset != nil {
		set = c.reset.Filter(set)
	}
	set = set.Difference(stripSet)
	if set.Empty() {
		return nil, false
	}
	raw, err := set.ToJSON()
	if err != nil {
		return nil, false
	}
	acc.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager:    manager,
		Operation:  metav1.ManagedFieldsOperationUpdate,
		APIVersion: c.apiVersion,
		Time:       &metav1.Time{Time: time.Now().UTC()},
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: raw},
	}})
	return obj, true
}
