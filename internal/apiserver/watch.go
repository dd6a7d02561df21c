package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	listvalidation "k8s.io/apimachinery/pkg/apis/meta/internalversion/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/svcnet/svcnet/internal/storage"
)

// initialEventsEnd is the bookmark annotation that ends a watch-list's initial state.
const initialEventsEnd = "k8s.io/initial-events-end"

type watchParams struct {
	rv               string
	sendInitial      *bool
	bookmarks        bool
	timeout          time.Duration
	resourceVersionM string
}

func parseWatchParams(r *http.Request) (watchParams, error) {
	q := r.URL.Query()
	p := watchParams{
		rv:               q.Get("resourceVersion"),
		bookmarks:        q.Get("allowWatchBookmarks") == "true",
		resourceVersionM: q.Get("resourceVersionMatch"),
		timeout:          30 * time.Minute,
	}
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, apierrors.NewBadRequest("timeoutSeconds must be a non-negative integer")
		}
		if n > 0 {
			p.timeout = time.Duration(n) * time.Second
		}
	}
	if v, ok := q["sendInitialEvents"]; ok {
		b := v[0] == "true"
		p.sendInitial = &b
	}
	opts := internalversion.ListOptions{
		Watch:                true,
		ResourceVersion:      p.rv,
		ResourceVersionMatch: metav1.ResourceVersionMatch(p.resourceVersionM),
		SendInitialEvents:    p.sendInitial,
		AllowWatchBookmarks:  p.bookmarks,
	}
	if errs := listvalidation.ValidateListOptions(&opts, true); len(errs) > 0 {
		return p, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
	}
	if p.rv != "" {
		if _, err := parseRV(p.rv); err != nil {
			return p, err
		}
	}
	return p, nil
}

// watchEncoder writes watch events in the negotiated framing.
type watchEncoder struct {
	s       *Server
	r       *http.Request
	res     *Resource
	mr      mediaRequest
	w       http.ResponseWriter
	frame   interface{ Write([]byte) (int, error) }
	flusher http.Flusher
	header  bool // Table columns already sent
	buf     bytes.Buffer
}

func (e *watchEncoder) send(typ watch.EventType, obj runtime.Object) error {
	e.buf.Reset()
	out := obj
	switch e.mr.as {
	case "Table":
		if typ != watch.Bookmark && typ != watch.Error {
			t, err := e.s.toTable(e.r, e.res, []runtime.Object{obj}, metav1.ListMeta{ResourceVersion: rvOf(obj)}, !e.header)
			if err != nil {
				return err
			}
			e.header = true
			out = t
		}
	case "PartialObjectMetadata", "PartialObjectMetadataList":
		if typ != watch.Error {
			out = partial(obj)
		}
	}
	if err := e.mr.info.Serializer.Encode(out, &e.buf); err != nil {
		return fmt.Errorf("encode watch object: %w", err)
	}
	ev := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: e.buf.Bytes()}}
	if err := e.mr.info.StreamSerializer.Serializer.Encode(ev, e.frame); err != nil {
		return fmt.Errorf("write watch event: %w", err)
	}
	if e.flusher != nil {
		e.flusher.Flush()
	}
	return nil
}

func (s *Server) handleWatch(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	sel, err := s.selectors(r, req.res)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := parseWatchParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mr := req.media
	if mr.info.StreamSerializer == nil {
		s.writeError(w, r, errNotAcceptable())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	initial := p.rv == "" || p.rv == "0"
	if p.sendInitial != nil {
		initial = *p.sendInitial
	}
	var from int64
	var items []runtime.Object
	if initial {
		// The initial state must be at least as new as a requested version; like
		// kube-apiserver, wait a little for it, then tell the client to retry.
		if want, _ := strconv.ParseInt(p.rv, 10, 64); want > 0 {
			if err := s.waitForRevision(ctx, want, 3*time.Second); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		items, from, _, err = s.listObjects(ctx, req, sel, listParams{})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	} else if p.rv == "" || p.rv == "0" {
		from, err = s.store.Revision(ctx)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		from, _ = strconv.ParseInt(p.rv, 10, 64)
	}

	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", mr.info.MediaType)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	enc := &watchEncoder{s: s, r: r, res: req.res, mr: mr, w: w, flusher: flusher,
		frame: mr.info.StreamSerializer.Framer.NewFrameWriter(w)}

	for _, it := range items {
		if err := enc.send(watch.Added, it); err != nil {
			return
		}
	}
	// Without bookmarks the client learns nothing about the end of the initial
	// state, as with kube-apiserver.
	if p.sendInitial != nil && *p.sendInitial && p.bookmarks {
		bm := s.bookmark(req.res, from)
		a, _ := meta.Accessor(bm)
		a.SetAnnotations(map[string]string{initialEventsEnd: "true"})
		if err := enc.send(watch.Bookmark, bm); err != nil {
			return
		}
	}

	events, errc := s.store.Watch(ctx, s.prefix(req.res, req.namespace), from)
	ticker := time.NewTicker(s.cfg.BookmarkInterval)
	defer ticker.Stop()
	last := from
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if p.bookmarks {
				if err := enc.send(watch.Bookmark, s.bookmark(req.res, last)); err != nil {
					return
				}
			}
		case ev, ok := <-events:
			if !ok {
				if err := <-errc; err != nil && ctx.Err() == nil {
					if errors.Is(err, storage.ErrCompacted) {
						st := apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d", from)).ErrStatus
						st.Kind, st.APIVersion = "Status", "v1"
						_ = enc.send(watch.Error, &st)
					} else {
						s.log.Warn("watch ended", "resource", req.res.Resource, "err", err)
					}
				}
				return
			}
			last = ev.Revision
			if ev.Type == storage.Progress {
				continue
			}
			typ, obj, err := s.translate(req.res, sel, ev)
			if err != nil {
				s.log.Error("decode watch event", "key", ev.Key, "err", err)
				continue
			}
			if obj == nil {
				continue
			}
			if err := enc.send(typ, obj); err != nil {
				return
			}
		}
	}
}

// translate turns a storage event into the watch event a client with sel sees, or a
// nil object when the change is invisible to it.
func (s *Server) translate(res *Resource, sel selector, ev storage.Event) (watch.EventType, runtime.Object, error) {
	decode := func(data []byte) (runtime.Object, error) {
		return s.decodeStored(res, storage.KV{Value: data, ModRevision: ev.Revision})
	}
	obj, err := decode(ev.Value)
	if err != nil {
		return "", nil, err
	}
	cur := sel.matches(obj)
	switch ev.Type {
	case storage.Created:
		if cur {
			return watch.Added, obj, nil
		}
		return "", nil, nil
	case storage.Deleted:
		if cur {
			return watch.Deleted, obj, nil
		}
		return "", nil, nil
	}
	prev := true
	var old runtime.Object
	if !sel.empty() && ev.PrevValue != nil {
		old, err = decode(ev.PrevValue)
		if err != nil {
			return "", nil, err
		}
		prev = sel.matches(old)
	}
	switch {
	case cur && prev:
		return watch.Modified, obj, nil
	case cur:
		return watch.Added, obj, nil
	case prev:
		// Leaving the selector is seen as a deletion of the last state the client
		// was shown, at the revision of the change (kube-apiserver does the same).
		return watch.Deleted, old, nil
	}
	return "", nil, nil
}

// waitForRevision waits until the store has reached revision want, or answers
// kube-apiserver's "Too large resource version" after timeout.
func (s *Server) waitForRevision(ctx context.Context, want int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cur, err := s.store.Revision(ctx)
		if err != nil {
			return err
		}
		if cur >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return errTooLargeRV(want, cur)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) bookmark(res *Resource, rev int64) runtime.Object {
	obj := res.New()
	setRV(obj, rev)
	obj.GetObjectKind().SetGroupVersionKind(res.GVK())
	return obj
}
