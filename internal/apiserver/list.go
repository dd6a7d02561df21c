package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	listvalidation "k8s.io/apimachinery/pkg/apis/meta/internalversion/validation"
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
		// The parser's message already says what is wrong, as kube-apiserver shows it.
		return selector{}, apierrors.NewBadRequest(err.Error())
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(err.Error())
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
	limit int64
	cont  string
	// revision reads the collection as it was then (resourceVersionMatch=Exact).
	revision int64
	// minRevision is the oldest state the client accepts (a resourceVersion
	// without Exact).
	minRevision int64
}

// parseListParams reads limit, continue and the resourceVersion options, checking
// them with the same rules as kube-apiserver (422 for inconsistent options, 400 for
// values that do not parse).
func parseListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	var p listParams
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid limit %q: %v", v, err))
		}
		// Zero or negative means no limit, as in kube-apiserver.
		p.limit = max(n, 0)
	}
	p.cont = q.Get("continue")
	rv := q.Get("resourceVersion")
	opts := internalversion.ListOptions{
		ResourceVersion:      rv,
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Continue:             p.cont,
	}
	if v, ok := q["sendInitialEvents"]; ok {
		b := v[0] == "true"
		opts.SendInitialEvents = &b
	}
	if errs := listvalidation.ValidateListOptions(&opts, true); len(errs) > 0 {
		return p, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
	}
	if p.cont != "" && rv != "" && rv != "0" {
		return p, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	if rv == "" {
		return p, nil
	}
	n, err := parseRV(rv)
	if err != nil {
		return p, err
	}
	if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
		p.revision = n
	} else {
		p.minRevision = n
	}
	return p, nil
}

func parseRV(rv string) (int64, error) {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q: it must be a non-negative integer", rv))
	}
	return n, nil
}

// errTooLargeRV is kube-apiserver's answer to a resourceVersion newer than any the
// server has seen: the client should retry shortly.
func errTooLargeRV(want, cur int64) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", want, cur), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	return err
}

// listObjects reads the matching objects of a collection. With a limit it reads
// page after page until it has limit matches, like kube-apiserver over etcd, and
// never returns more than limit items.
func (s *Server) listObjects(ctx context.Context, req request, sel selector, p listParams) ([]runtime.Object, int64, metav1.ListMeta, error) {
	res := req.res
	prefix := s.prefix(res, req.namespace)
	var lm metav1.ListMeta
	listErr := func(err error) error {
		if errors.Is(err, storage.ErrCompacted) && p.cont == "" {
			return apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
		}
		return storageErr(err, res.GroupResource(), "")
	}
	if p.revision > 0 && p.cont == "" {
		// etcd refuses future revisions with an internal error; answer as
		// kube-apiserver does instead.
		cur, err := s.store.Revision(ctx)
		if err != nil {
			return nil, 0, lm, err
		}
		if p.revision > cur {
			return nil, 0, lm, errTooLargeRV(p.revision, cur)
		}
	}
	var items []runtime.Object
	opts := storage.ListOptions{Revision: p.revision, Continue: p.cont, Limit: p.limit}
	for {
		page, err := s.store.List(ctx, prefix, opts)
		if err != nil {
			return nil, 0, lm, listErr(err)
		}
		if page.Revision < p.minRevision {
			return nil, 0, lm, errTooLargeRV(p.minRevision, page.Revision)
		}
		// cut counts the keys of this page that give exactly limit items, when
		// fewer than all of them do.
		cut := 0
		for i, kv := range page.KVs {
			obj, err := s.decodeStored(res, kv)
			if err != nil {
				return nil, 0, lm, err
			}
			if !sel.matches(obj) {
				continue
			}
			items = append(items, obj)
			if p.limit > 0 && int64(len(items)) == p.limit && i < len(page.KVs)-1 {
				cut = i + 1
				break
			}
		}
		lm.ResourceVersion = strconv.FormatInt(page.Revision, 10)
		if cut > 0 {
			// Read the page again only up to the last item returned, so that the
			// continue token resumes right after it.
			again := opts
			again.Limit = int64(cut)
			if again.Continue == "" {
				again.Revision = page.Revision
			}
			if page, err = s.store.List(ctx, prefix, again); err != nil {
				return nil, 0, lm, listErr(err)
			}
		}
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
		opts = storage.ListOptions{Continue: page.Continue, Limit: p.limit}
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
