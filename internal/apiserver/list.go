package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/svcnet/svcnet/internal/storage"
)

var emptyGVK = schema.GroupVersionKind{}

// selector filters objects by labels and fields.
type selector struct {
	labels labels.Selector
	fields fields.Selector
	res    *Resource
}

func (sel selector) empty() bool { return sel.labels.Empty() && sel.fields.Empty() }

func (sel selector) matches(obj runtime.Object) bool {
	if sel.empty() {
		return true
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	if !sel.labels.Matches(labels.Set(acc.GetLabels())) {
		return false
	}
	return sel.fields.Empty() || sel.fields.Matches(sel.res.Strategy.SelectableFields(obj))
}

func (s *Server) selectors(r *http.Request, res *Resource) (selector, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	known := res.Strategy.SelectableFields(res.New())
	for _, req := range fs.Requirements() {
		if _, ok := known[req.Field]; !ok {
			return selector{}, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return selector{labels: ls, fields: fs, res: res}, nil
}

type listParams struct {
	limit    int64
	cont     string
	revision int64
}

func parseListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	var p listParams
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, apierrors.NewBadRequest("limit must be a non-negative integer")
		}
		p.limit = n
	}
	p.cont = q.Get("continue")
	rv := q.Get("resourceVersion")
	match := q.Get("resourceVersionMatch")
	if p.cont != "" && rv != "" && rv != "0" {
		return p, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	if match == string(metav1.ResourceVersionMatchExact) {
		n, err := strconv.ParseInt(rv, 10, 64)
		if err != nil || n <= 0 {
			return p, apierrors.NewBadRequest("resourceVersionMatch Exact requires a positive resourceVersion")
		}
		p.revision = n
	} else if rv != "" {
		if _, err := strconv.ParseUint(rv, 10, 64); err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
		}
	}
	if _, ok := q["sendInitialEvents"]; ok {
		return p, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "ListOptions"}, "", nil)
	}
	return p, nil
}

// listObjects reads the matching objects of a collection. With a limit it reads
// page after page until it has limit matches, like kube-apiserver over etcd.
func (s *Server) listObjects(ctx context.Context, req request, sel selector, p listParams) ([]runtime.Object, int64, metav1.ListMeta, error) {
	res := req.res
	prefix := s.prefix(res, req.namespace)
	var items []runtime.Object
	opts := storage.ListOptions{Revision: p.revision, Continue: p.cont}
	if p.limit > 0 {
		opts.Limit = p.limit
	}
	var lm metav1.ListMeta
	for {
		page, err := s.store.List(ctx, prefix, opts)
		if err != nil {
			return nil, 0, lm, storageErr(err, res.GroupResource(), "")
		}
		for _, kv := range page.KVs {
			obj, err := s.decodeStored(res, kv)
			if err != nil {
				return nil, 0, lm, err
			}
			if sel.matches(obj) {
				items = append(items, obj)
			}
		}
		lm.ResourceVersion = strconv.FormatInt(page.Revision, 10)
		if page.Continue == "" {
			return items, page.Revision, lm, nil
		}
		if p.limit > 0 && int64(len(items)) >= p.limit {
			lm.Continue = page.Continue
			if sel.empty() {
				n := page.RemainingItems
				lm.RemainingItemCount = &n
			}
			return items, page.Revision, lm, nil
		}
		opts = storage.ListOptions{Continue: page.Continue, Limit: opts.Limit}
	}
}

func (s *Server) handleList(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	sel, err := s.selectors(r, req.res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := parseListParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, _, lm, err := s.listObjects(ctx, req, sel, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.buildList(req.res, items, lm)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, http.StatusOK, list, nil)
}

func partial(obj runtime.Object) *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{}
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			p.ObjectMeta = *om
		}
	}
	p.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata"))
	return p
}
