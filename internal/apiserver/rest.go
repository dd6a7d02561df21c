package apiserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/svcnet/svcnet/internal/storage"
)

// maxWriteAttempts bounds the retries of one write against concurrent writers
// (unconditional updates and patches re-read and re-apply; creates re-pick allocations).
const maxWriteAttempts = 16

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req request) {
	start := time.Now()
	if r.Method != http.MethodGet {
		growStack(int(start.UnixNano()))
	}
	rec := &statusRecorder{ResponseWriter: w}
	q := r.URL.Query()
	var verb string
	switch r.Method {
	case http.MethodGet:
		switch {
		case req.name != "":
			verb = "get"
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			verb = "watch"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if req.name == "" {
			verb = "deletecollection"
		}
	default:
		s.writeError(rec, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), r.Method))
		return
	}
	req.verb = verb
	if d := req.res.Deprecation; d != "" {
		w.Header().Add("Warning", "299 - "+strconv.Quote(d))
	}
	resLabel := req.res.Resource
	if req.sub != "" {
		resLabel += "/" + req.sub
	}
	defer func() {
		if verb == "watch" {
			return
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.observe(verb, resLabel, code, time.Since(start))
	}()
	if err := s.checkVerb(req); err != nil {
		s.writeError(rec, r, err)
		return
	}
	// Negotiate the answer before doing anything: a write must not happen when
	// its response cannot be sent.
	mr, ok := s.codecs.negotiate(r, true)
	if !ok {
		s.writeError(rec, r, errNotAcceptable())
		return
	}
	req.media = mr
	ctx := r.Context()
	switch verb {
	case "get":
		s.handleGet(ctx, rec, r, req)
	case "list":
		s.handleList(ctx, rec, r, req)
	case "watch":
		s.metrics.observe(verb, resLabel, http.StatusOK, time.Since(start))
		s.metrics.watchers.WithLabelValues(resLabel).Inc()
		defer s.metrics.watchers.WithLabelValues(resLabel).Dec()
		s.handleWatch(ctx, rec, r, req)
	case "create":
		s.handleCreate(ctx, rec, r, req)
	case "update":
		s.handleUpdate(ctx, rec, r, req)
	case "patch":
		s.handlePatch(ctx, rec, r, req)
	case "delete":
		s.handleDelete(ctx, rec, r, req)
	case "deletecollection":
		s.handleDeleteCollection(ctx, rec, r, req)
	}
}

func (s *Server) checkVerb(req request) error {
	switch req.verb {
	case "create":
		if req.name != "" {
			return apierrors.NewMethodNotSupported(req.res.GroupResource(), "create on a named object")
		}
	case "update", "patch":
		if req.name == "" {
			return apierrors.NewMethodNotSupported(req.res.GroupResource(), req.verb+" of a collection")
		}
		if req.sub == "finalize" && req.verb == "patch" {
			return apierrors.NewMethodNotSupported(req.res.GroupResource(), "patch of finalize")
		}
	case "delete":
		if req.sub != "" {
			return apierrors.NewMethodNotSupported(req.res.GroupResource(), "delete of a subresource")
		}
	case "deletecollection":
		if req.res.NoDeleteCollection {
			return apierrors.NewMethodNotSupported(req.res.GroupResource(), "deletecollection")
		}
	}
	// The all-namespaces path of a namespaced resource only lists and watches,
	// as in kube-apiserver: a create there would store an object in no
	// namespace and a deletecollection would empty every namespace.
	if req.res.Namespaced && req.namespace == "" && (req.verb == "create" || req.verb == "deletecollection") {
		return apierrors.NewMethodNotSupported(req.res.GroupResource(), req.verb+" across all namespaces")
	}
	return nil
}

// key returns the etcd key of one object; prefix the key prefix of a collection.
func (s *Server) key(res *Resource, ns, name string) string { return s.prefix(res, ns) + name }

func (s *Server) prefix(res *Resource, ns string) string {
	p := "/registry/"
	if res.Group != "" {
		p += res.Group + "/"
	}
	p += res.Resource + "/"
	if res.Namespaced && ns != "" {
		p += ns + "/"
	}
	return p
}

// load reads one stored object with its revision.
func (s *Server) load(ctx context.Context, res *Resource, ns, name string) (runtime.Object, int64, error) {
	kv, err := s.store.Get(ctx, s.key(res, ns, name))
	if err != nil {
		return nil, 0, storageErr(err, res.GroupResource(), name)
	}
	obj, err := s.decodeStored(res, kv)
	return obj, kv.ModRevision, err
}

func (s *Server) decodeStored(res *Resource, kv storage.KV) (runtime.Object, error) {
	obj, err := s.codecs.decodeStorage(kv.Value, res.New)
	if err != nil {
		return nil, err
	}
	setRV(obj, kv.ModRevision)
	obj.GetObjectKind().SetGroupVersionKind(res.GVK())
	return obj, nil
}

func setRV(obj runtime.Object, rev int64) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
}

// respond writes obj, an object or a list, in the encoding and view negotiated
// for the request.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, req request, code int, obj runtime.Object, warn warnings) {
	out, err := s.view(r, req, obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	warn.write(w)
	s.writeObject(w, code, req.media.info, out)
}

// view converts obj to the meta.k8s.io form the client asked for, if any. A
// single-object view of a list, or the reverse, is not acceptable (406).
func (s *Server) view(r *http.Request, req request, obj runtime.Object) (runtime.Object, error) {
	if _, ok := obj.(*metav1.Status); ok || req.media.as == "" {
		return obj, nil
	}
	items := []runtime.Object{obj}
	lm := metav1.ListMeta{ResourceVersion: rvOf(obj)}
	isList := meta.IsListType(obj)
	if isList {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, err
		}
		if la, err := meta.ListAccessor(obj); err == nil {
			lm = metav1.ListMeta{ResourceVersion: la.GetResourceVersion(), Continue: la.GetContinue(), RemainingItemCount: la.GetRemainingItemCount()}
		}
	}
	switch req.media.as {
	case "Table":
		return s.toTable(r, req.res, items, lm, true)
	case "PartialObjectMetadata":
		if isList {
			return nil, errViewMismatch("PartialObjectMetadata", "a list")
		}
		return partial(obj), nil
	case "PartialObjectMetadataList":
		if !isList {
			return nil, errViewMismatch("PartialObjectMetadataList", "a single object")
		}
		pl := &metav1.PartialObjectMetadataList{ListMeta: lm, Items: make([]metav1.PartialObjectMetadata, 0, len(items))}
		pl.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadataList"))
		for _, it := range items {
			pl.Items = append(pl.Items, *partial(it))
		}
		return pl, nil
	}
	return obj, nil
}

func errViewMismatch(view, got string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotAcceptable,
		Reason:  metav1.StatusReasonNotAcceptable,
		Message: fmt.Sprintf("the request asked for %s, but the response is %s", view, got),
	}}
}

func rvOf(obj runtime.Object) string {
	a, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return a.GetResourceVersion()
}

func (s *Server) handleGet(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	obj, _, err := s.load(ctx, req.res, req.namespace, req.name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, http.StatusOK, obj, nil)
}

// prepareCreate fills server-owned metadata of a new object and runs the strategy.
func (s *Server) prepareCreate(req request, obj runtime.Object) (metav1.Object, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	res := req.res
	if res.Namespaced {
		switch {
		case acc.GetNamespace() == "":
			acc.SetNamespace(req.namespace)
		case acc.GetNamespace() != req.namespace:
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		acc.SetNamespace("")
	}
	if acc.GetName() == "" && acc.GetGenerateName() != "" {
		acc.SetName(acc.GetGenerateName() + randomSuffix())
	}
	if acc.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	acc.SetUID(uuid.NewUUID())
	acc.SetCreationTimestamp(metav1.Now())
	acc.SetDeletionTimestamp(nil)
	acc.SetDeletionGracePeriodSeconds(nil)
	// Only kinds whose strategy sets it (in PrepareForCreate) carry a
	// generation, as in kube-apiserver: EndpointSlices and Pods here.
	acc.SetGeneration(0)
	acc.SetSelfLink("")
	res.Strategy.Default(obj)
	res.Strategy.PrepareForCreate(obj)
	if errs := res.Strategy.ValidateCreate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(res.GVK().GroupKind(), acc.GetName(), errs)
	}
	return acc, nil
}

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomSuffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = suffixAlphabet[int(b[i])%len(suffixAlphabet)]
	}
	return string(b[:])
}

func (s *Server) handleCreate(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	if req.sub != "" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), "create of a subresource"))
		return
	}
	o, err := parseWriteOptions(r, req.verb, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var warn warnings
	o.warn = &warn
	obj, err := s.decodeBody(r, req.res, body, o.directive, &warn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.create(ctx, req, obj, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, http.StatusCreated, out, warn)
}

// create stores a new object (decoded, not yet prepared) and returns it as stored.
func (s *Server) create(ctx context.Context, req request, obj runtime.Object, o writeOpts) (runtime.Object, error) {
	dry := o.dry
	res := req.res
	if res.Namespaced {
		if err := s.nsCache.admit(ctx, req.namespace, res.GroupResource(), admittedName(obj)); err != nil {
			return nil, err
		}
	}
	acc, err := s.prepareCreate(req, obj)
	if err != nil {
		return nil, err
	}
	if wr, ok := res.Strategy.(Warner); ok {
		o.warn.add(wr.WarningsOnCreate(obj)...)
	}
	if cf := s.creates[res.Resource]; cf != nil && !o.applied {
		s.stacks.do(ctx, func() { obj = cf.track(obj, o.manager) })
		acc, _ = meta.Accessor(obj)
	}
	key := s.key(res, acc.GetNamespace(), acc.GetName())
	// Hooks fill allocated values into the object; a retry after a lost race must
	// start again from the object as prepared, not as the last attempt left it.
	prepared := obj
	for attempt := 0; ; attempt++ {
		obj = prepared.DeepCopyObject()
		var ops []storage.Op
		if h, ok := res.Strategy.(CreateHook); ok {
			ops, err = h.BeforeCreate(ctx, obj, dry)
			if err != nil {
				return nil, err
			}
		}
		if dry {
			return obj, nil
		}
		data, err := s.codecs.encodeStorage(obj, res.GVK())
		if err != nil {
			return nil, err
		}
		rev, err := s.store.Txn(ctx, append([]storage.Op{storage.Put(key, data, storage.Absent)}, ops...)...)
		var ce *storage.ConflictError
		if errors.As(err, &ce) {
			if ce.Key == key {
				return nil, apierrors.NewAlreadyExists(res.GroupResource(), acc.GetName())
			}
			if h, ok := res.Strategy.(ConflictHandler); ok && attempt < maxWriteAttempts {
				h.OnConflict(ce.Key)
				continue
			}
		}
		if err != nil {
			return nil, storageErr(err, res.GroupResource(), acc.GetName())
		}
		setRV(obj, rev)
		obj.GetObjectKind().SetGroupVersionKind(res.GVK())
		return obj, nil
	}
}

// ConflictHandler is told which of a hook's keys lost a race, so the hook can choose
// differently (or refuse) on the next attempt.
type ConflictHandler interface {
	OnConflict(key string)
}

func (s *Server) handleUpdate(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	o, err := parseWriteOptions(r, req.verb, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var warn warnings
	o.warn = &warn
	obj, err := s.decodeBody(r, req.res, body, o.directive, &warn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()))
		return
	}
	if acc.GetName() != req.name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", acc.GetName(), req.name)))
		return
	}
	if req.res.Namespaced && acc.GetNamespace() != "" && acc.GetNamespace() != req.namespace {
		s.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	out, code, err := s.update(ctx, req, o, func(old runtime.Object) (runtime.Object, error) {
		// A uid in the body is a precondition, as in kube-apiserver: a stale
		// copy must not overwrite an object deleted and made again.
		if uid := acc.GetUID(); uid != "" {
			var cur types.UID
			if old != nil {
				oldAcc, _ := meta.Accessor(old)
				cur = oldAcc.GetUID()
			}
			if uid != cur {
				return nil, apierrors.NewConflict(req.res.GroupResource(), req.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, cur))
			}
		}
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, code, out, warn)
}

// allowCreateOnUpdate lists the resources whose PUT or apply creates a missing object.
func allowCreateOnUpdate(res *Resource) bool {
	switch res.Resource {
	case "endpoints", "endpointslices", "events", "leases":
		return true
	}
	return false
}

// update applies mutate to the stored object and writes the result. mutate gets a
// copy of the current object (nil if it does not exist) and returns the desired
// object. A resourceVersion in the desired object is a precondition; without one, a
// lost race re-reads and re-applies mutate.
func (s *Server) update(ctx context.Context, req request, o writeOpts, mutate func(old runtime.Object) (runtime.Object, error)) (runtime.Object, int, error) {
	dry := o.dry
	res := req.res
	gr := res.GroupResource()
	// Warnings of an attempt lost to a conflict do not reach the response;
	// those of decoding, made before, do.
	kept := 0
	if o.warn != nil {
		kept = len(*o.warn)
	}
	for attempt := 0; ; attempt++ {
		if o.warn != nil {
			*o.warn = (*o.warn)[:kept]
		}
		old, oldRev, err := s.load(ctx, res, req.namespace, req.name)
		if apierrors.IsNotFound(err) && req.sub == "" {
			obj, merr := mutate(nil)
			if merr != nil {
				return nil, 0, merr
			}
			if obj == nil || !(o.applied || allowCreateOnUpdate(res)) {
				return nil, 0, err
			}
			if a, aerr := meta.Accessor(obj); aerr == nil {
				a.SetResourceVersion("")
			}
			created, cerr := s.create(ctx, req, obj, o)
			return created, http.StatusCreated, cerr
		}
		if err != nil {
			return nil, 0, err
		}
		obj, err := mutate(old.DeepCopyObject())
		if err != nil {
			return nil, 0, err
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return nil, 0, apierrors.NewBadRequest(err.Error())
		}
		oldAcc, _ := meta.Accessor(old)
		if rv := acc.GetResourceVersion(); rv != "" && rv != oldAcc.GetResourceVersion() {
			return nil, 0, apierrors.NewConflict(gr, req.name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		if oldAcc.GetDeletionTimestamp() != nil {
			// The same rule as ObjectMeta update validation, checked here for
			// strategies that do not run it.
			if errs := apivalidation.ValidateNoNewFinalizers(acc.GetFinalizers(), oldAcc.GetFinalizers(), field.NewPath("metadata", "finalizers")); len(errs) > 0 {
				return nil, 0, apierrors.NewInvalid(res.GVK().GroupKind(), req.name, errs)
			}
		}
		if uid := acc.GetUID(); uid != "" && uid != oldAcc.GetUID() {
			errs := field.ErrorList{field.Invalid(field.NewPath("metadata", "uid"), uid, apivalidation.FieldImmutableErrorMsg)}
			return nil, 0, apierrors.NewInvalid(res.GVK().GroupKind(), req.name, errs)
		}
		// Server-owned metadata comes from the stored object.
		acc.SetNamespace(oldAcc.GetNamespace())
		acc.SetUID(oldAcc.GetUID())
		acc.SetCreationTimestamp(oldAcc.GetCreationTimestamp())
		acc.SetDeletionTimestamp(oldAcc.GetDeletionTimestamp())
		acc.SetDeletionGracePeriodSeconds(oldAcc.GetDeletionGracePeriodSeconds())
		acc.SetGeneration(oldAcc.GetGeneration())
		acc.SetResourceVersion(oldAcc.GetResourceVersion())
		acc.SetSelfLink("")
		if req.sub != "" {
			// Subresource writes change only their part; metadata stays as stored.
			acc.SetLabels(oldAcc.GetLabels())
			acc.SetAnnotations(oldAcc.GetAnnotations())
			acc.SetFinalizers(oldAcc.GetFinalizers())
			acc.SetOwnerReferences(oldAcc.GetOwnerReferences())
		}
		res.Strategy.Default(obj)
		res.Strategy.PrepareForUpdate(obj, old, req.sub)
		if errs := res.Strategy.ValidateUpdate(obj, old, req.sub); len(errs) > 0 {
			return nil, 0, apierrors.NewInvalid(res.GVK().GroupKind(), req.name, errs)
		}
		if wr, ok := res.Strategy.(Warner); ok && req.sub == "" {
			o.warn.add(wr.WarningsOnUpdate(obj, old)...)
		}
		if fm := s.managers[res.Resource+"/"+req.sub]; fm != nil && !o.applied {
			s.stacks.do(ctx, func() { obj = fm.UpdateNoErrors(old, obj, o.manager) })
			acc, _ = meta.Accessor(obj)
		}
		// A stored object whose deletion was requested goes away once its last
		// finalizer is removed.
		if acc.GetDeletionTimestamp() != nil && len(acc.GetFinalizers()) == 0 && !hasSpecFinalizers(obj) {
			if dry {
				return obj, http.StatusOK, nil
			}
			if err := s.remove(ctx, res, req.namespace, req.name, obj, oldRev); err != nil {
				var ce *storage.ConflictError
				if errors.As(err, &ce) && attempt < maxWriteAttempts {
					continue
				}
				return nil, 0, storageErr(err, gr, req.name)
			}
			return obj, http.StatusOK, nil
		}
		var ops []storage.Op
		if h, ok := res.Strategy.(UpdateHook); ok && req.sub == "" {
			ops, err = h.BeforeUpdate(ctx, obj, old, dry)
			if err != nil {
				return nil, 0, err
			}
		}
		if dry {
			return obj, http.StatusOK, nil
		}
		data, err := s.codecs.encodeStorage(obj, res.GVK())
		if err != nil {
			return nil, 0, err
		}
		oldData, err := s.codecs.encodeStorage(old, res.GVK())
		if err == nil && len(ops) == 0 && string(oldData) == string(data) {
			// Nothing changed: no write, no new resourceVersion, no watch event.
			return old, http.StatusOK, nil
		}
		key := s.key(res, req.namespace, req.name)
		rev, err := s.store.Txn(ctx, append([]storage.Op{storage.Put(key, data, oldRev)}, ops...)...)
		var ce *storage.ConflictError
		if errors.As(err, &ce) && attempt < maxWriteAttempts {
			if h, ok := res.Strategy.(ConflictHandler); ok && ce.Key != key {
				h.OnConflict(ce.Key)
			}
			continue
		}
		if err != nil {
			return nil, 0, storageErr(err, gr, req.name)
		}
		setRV(obj, rev)
		obj.GetObjectKind().SetGroupVersionKind(res.GVK())
		return obj, http.StatusOK, nil
	}
}

// hasSpecFinalizers reports namespace spec finalizers, which also hold deletion.
func hasSpecFinalizers(obj runtime.Object) bool {
	type specFinalizers interface{ SpecFinalizers() []string }
	if f, ok := obj.(specFinalizers); ok {
		return len(f.SpecFinalizers()) > 0
	}
	return namespaceSpecFinalizers(obj) > 0
}

// remove deletes a stored object at revision rev with its hook's ops.
func (s *Server) remove(ctx context.Context, res *Resource, ns, name string, obj runtime.Object, rev int64) error {
	var ops []storage.Op
	if h, ok := res.Strategy.(DeleteHook); ok {
		var err error
		ops, err = h.BeforeDelete(ctx, obj)
		if err != nil {
			return err
		}
	}
	_, err := s.store.Txn(ctx, append([]storage.Op{storage.Del(s.key(res, ns, name), rev)}, ops...)...)
	return err
}

func (s *Server) decodeDeleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if _, _, err := s.codecs.factory.UniversalDeserializer().Decode(body, nil, opts); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("decode DeleteOptions: %v", err))
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest("gracePeriodSeconds must be an integer")
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if _, ok := q["dryRun"]; ok {
		opts.DryRun = q["dryRun"]
	}
	if errs := metav1validation.ValidateDeleteOptions(opts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "DeleteOptions"}, "", errs)
	}
	return opts, nil
}

func (s *Server) handleDelete(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	opts, err := s.decodeDeleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, deleted, err := s.delete(ctx, req.res, req.namespace, req.name, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.res.Group == "" && req.res.Resource == "namespaces" {
		s.nsCache.deletedHere(out)
	}
	// kube-apiserver answers 200 whether the object is gone or only marked, except
	// for the deprecated orphanDependents=false on an object that stays.
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents { //nolint:staticcheck // as kube-apiserver
		code = http.StatusAccepted
	}
	if deleted && !returnsDeletedObject(req.res) {
		out = deletedStatus(req.res, out)
	}
	s.respond(w, r, req, code, out, nil)
}

// returnsDeletedObject lists the resources whose DELETE answers with the deleted
// object, as their kube-apiserver registries do; the others answer with a
// Success Status naming it.
func returnsDeletedObject(res *Resource) bool {
	if res.Group != "" {
		return false
	}
	switch res.Resource {
	case "services", "pods", "namespaces":
		return true
	}
	return false
}

// deletedStatus is the Status kube-apiserver returns for a deleted object: its kind
// field holds the resource name, as there.
func deletedStatus(res *Resource, obj runtime.Object) *metav1.Status {
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Details:  &metav1.StatusDetails{Group: res.Group, Kind: res.Resource},
	}
	if acc, err := meta.Accessor(obj); err == nil {
		st.Details.Name, st.Details.UID = acc.GetName(), acc.GetUID()
	}
	return st
}

// delete removes an object, or marks it for deletion when finalizers or a grace
// period hold it. It returns the object as last stored and whether it is gone.
func (s *Server) delete(ctx context.Context, res *Resource, ns, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	gr := res.GroupResource()
	dry := len(opts.DryRun) > 0
	for attempt := 0; ; attempt++ {
		obj, rev, err := s.load(ctx, res, ns, name)
		if err != nil {
			return nil, false, err
		}
		acc, _ := meta.Accessor(obj)
		if p := opts.Preconditions; p != nil {
			// kube-apiserver names the kind, not the resource, in these.
			kind := schema.GroupResource{Group: res.Group, Resource: res.Kind}
			if p.UID != nil && *p.UID != acc.GetUID() {
				return nil, false, apierrors.NewConflict(kind, name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, acc.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != acc.GetResourceVersion() {
				return nil, false, apierrors.NewConflict(kind, name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, acc.GetResourceVersion()))
			}
		}
		if g, ok := res.Strategy.(DeleteGuard); ok {
			if err := g.CheckDelete(obj); err != nil {
				return nil, false, err
			}
		}
		grace, graceful := int64(0), false
		if g, ok := res.Strategy.(GracefulDeleter); ok {
			grace, graceful = g.GracePeriod(obj, opts)
		}
		held := len(acc.GetFinalizers()) > 0 || hasSpecFinalizers(obj)
		if graceful || held {
			if acc.GetDeletionTimestamp() != nil && (!graceful || (acc.GetDeletionGracePeriodSeconds() != nil && *acc.GetDeletionGracePeriodSeconds() <= grace)) {
				// Already being deleted; nothing shortens it.
				return obj, false, nil
			}
			if acc.GetDeletionTimestamp() == nil && acc.GetGeneration() > 0 {
				// Controllers see from the generation that deletion has begun.
				acc.SetGeneration(acc.GetGeneration() + 1)
			}
			if acc.GetDeletionTimestamp() == nil || graceful {
				now := metav1.NewTime(time.Now().Add(time.Duration(grace) * time.Second))
				acc.SetDeletionTimestamp(&now)
				acc.SetDeletionGracePeriodSeconds(&grace)
			}
			if m, ok := res.Strategy.(DeletionMarker); ok {
				m.MarkDeleting(obj)
			}
			if dry {
				return obj, false, nil
			}
			data, err := s.codecs.encodeStorage(obj, res.GVK())
			if err != nil {
				return nil, false, err
			}
			nrev, err := s.store.Txn(ctx, storage.Put(s.key(res, ns, name), data, rev))
			var ce *storage.ConflictError
			if errors.As(err, &ce) && attempt < maxWriteAttempts {
				continue
			}
			if err != nil {
				return nil, false, storageErr(err, gr, name)
			}
			setRV(obj, nrev)
			obj.GetObjectKind().SetGroupVersionKind(res.GVK())
			return obj, false, nil
		}
		if dry {
			return obj, true, nil
		}
		err = s.remove(ctx, res, ns, name, obj, rev)
		var ce *storage.ConflictError
		if errors.As(err, &ce) && attempt < maxWriteAttempts {
			continue
		}
		if err != nil {
			return nil, false, storageErr(err, gr, name)
		}
		return obj, true, nil
	}
}

// DeleteGuard refuses deletes of objects that must stay (system namespaces).
type DeleteGuard interface {
	CheckDelete(obj runtime.Object) error
}

// DeletionMarker lets a resource record that deletion has begun (namespace phase).
type DeletionMarker interface {
	MarkDeleting(obj runtime.Object)
}

func (s *Server) handleDeleteCollection(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	opts, err := s.decodeDeleteOptions(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sel, err := s.selectors(r, req.res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, rev, _, err := s.listObjects(ctx, req, sel, listParams{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var deleted []runtime.Object
	for _, item := range items {
		acc, _ := meta.Accessor(item)
		_, _, err := s.delete(ctx, req.res, acc.GetNamespace(), acc.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// Like kube-apiserver, answer with the objects as they were listed.
		deleted = append(deleted, item)
	}
	list, err := s.buildList(req.res, deleted, metav1.ListMeta{ResourceVersion: strconv.FormatInt(rev, 10)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, http.StatusOK, list, nil)
}

func (s *Server) buildList(res *Resource, items []runtime.Object, lm metav1.ListMeta) (runtime.Object, error) {
	list := res.NewList()
	for _, it := range items {
		it.GetObjectKind().SetGroupVersionKind(emptyGVK)
	}
	if err := meta.SetList(list, items); err != nil {
		return nil, fmt.Errorf("build %s: %w", res.ListKind, err)
	}
	la, err := meta.ListAccessor(list)
	if err != nil {
		return nil, err
	}
	la.SetResourceVersion(lm.ResourceVersion)
	la.SetContinue(lm.Continue)
	la.SetRemainingItemCount(lm.RemainingItemCount)
	list.GetObjectKind().SetGroupVersionKind(res.GroupVersion().WithKind(res.ListKind))
	return list, nil
}

// Ensure creates obj through the full create path (defaulting, validation,
// allocation) unless an object of that name exists. The server uses it for the
// objects every cluster starts with.
func (s *Server) Ensure(ctx context.Context, resource string, obj runtime.Object) error {
	for _, set := range s.byPath {
		res, ok := set[resource]
		if !ok {
			continue
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		req := request{res: res, namespace: acc.GetNamespace(), verb: "create"}
		if _, _, err := s.load(ctx, res, req.namespace, acc.GetName()); err == nil {
			return nil
		}
		_, err = s.create(ctx, req, obj, writeOpts{manager: "svcnet-bootstrap"})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	return fmt.Errorf("ensure %s: resource not served", resource)
}
