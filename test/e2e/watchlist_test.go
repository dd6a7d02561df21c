package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// watchListQuery is what client-go's reflector sends to stream a collection.
const watchListQuery = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"

// wireEvent is one event of a JSON watch stream, decoded only as far as the
// tests look.
type wireEvent struct {
	Type   string `json:"type"`
	Object struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Metadata   struct {
			Name            string            `json:"name"`
			Namespace       string            `json:"namespace"`
			ResourceVersion string            `json:"resourceVersion"`
			Labels          map[string]string `json:"labels"`
			Annotations     map[string]string `json:"annotations"`
		} `json:"metadata"`
		// Set when the object is a Status (an ERROR event).
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"object"`
}

func (e wireEvent) key() string { return e.Object.Metadata.Namespace + "/" + e.Object.Metadata.Name }

func (e wireEvent) isInitialEventsEnd() bool {
	return e.Type == string(watch.Bookmark) && e.Object.Metadata.Annotations[metav1.InitialEventsAnnotationKey] == "true"
}

// rawWatch is an open watch request: either a stream of events or an error reply.
type rawWatch struct {
	code   int
	body   []byte         // the reply when code is not 200
	events chan wireEvent // closed when the stream ends
}

// startRawWatch sends a GET and, on 200, decodes the stream in the background
// until ctx ends or the server closes it.
func startRawWatch(ctx context.Context, t *testing.T, hc *http.Client, u string) rawWatch {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return rawWatch{code: resp.StatusCode, body: body}
	}
	events := make(chan wireEvent, 100)
	go func() {
		defer close(events)
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var ev wireEvent
			if err := dec.Decode(&ev); err != nil {
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return rawWatch{code: resp.StatusCode, events: events}
}

// next returns the next event, failing the test when none comes in time or the
// stream ends.
func (w rawWatch) next(t *testing.T, timeout time.Duration) wireEvent {
	t.Helper()
	select {
	case ev, ok := <-w.events:
		if !ok {
			t.Fatalf("watch stream ended; want another event")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no watch event within %v", timeout)
	}
	return wireEvent{}
}

// nextChange skips bookmarks and returns the next ADDED, MODIFIED, DELETED or ERROR.
func (w rawWatch) nextChange(t *testing.T, timeout time.Duration) wireEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev := w.next(t, time.Until(deadline))
		if ev.Type != string(watch.Bookmark) {
			return ev
		}
	}
}

// initialEvents reads the ADDED events up to the initial-events-end bookmark.
func (w rawWatch) initialEvents(t *testing.T) (added []wireEvent, end wireEvent) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := w.next(t, time.Until(deadline))
		switch {
		case ev.isInitialEventsEnd():
			return added, ev
		case ev.Type == string(watch.Added):
			added = append(added, ev)
		case ev.Type == string(watch.Bookmark):
			// A periodic bookmark may come at any time; it carries no state.
		default:
			t.Fatalf("initial event %s %s (code %d %s); want only ADDED before the initial-events-end bookmark", ev.Type, ev.key(), ev.Object.Code, ev.Object.Message)
		}
	}
}

// rvNumber parses a resourceVersion. They are opaque to clients; svcnet and
// kube-apiserver both use etcd revisions, which the tests compare as numbers.
func rvNumber(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q is not a number: %v", rv, err)
	}
	return n
}

// mustCreateService creates a Service with one port and the given labels.
func mustCreateService(t *testing.T, cs kubernetes.Interface, ns, name string, labels map[string]string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
	got, err := cs.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
	return got
}

// mustMergePatch applies a JSON merge patch to a Service and returns the result.
func mustMergePatch(t *testing.T, cs kubernetes.Interface, ns, name, patch string) *corev1.Service {
	t.Helper()
	got, err := cs.CoreV1().Services(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("patch service %s/%s with %s: %v", ns, name, patch, err)
	}
	return got
}

// TestWatchListRaw checks the streaming list on the wire: ADDED for every object
// that exists, a bookmark marking the end of the initial state at a
// resourceVersion no older than any of them, then changes as they happen.
func TestWatchListRaw(t *testing.T) {
	s := startServer(t)
	cs := s.client()
	cfg := s.restConfig()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCreateService(t, cs, "default", "wl-a", map[string]string{"team": "a"})
	mustCreateService(t, cs, "default", "wl-b", map[string]string{"team": "b"})
	mustCreateService(t, cs, "other", "wl-c", map[string]string{"team": "a"})
	list, err := cs.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	listRV := list.ResourceVersion
	svcs := "/api/v1/namespaces/default/services"

	tests := []struct {
		name     string
		path     string
		query    string
		wantKind string
		want     []string // namespace/name of the initial ADDED events
		minRV    string   // the end bookmark must be at least this new
	}{
		{name: "namespace", path: svcs, query: watchListQuery, wantKind: "Service", want: []string{"default/kubernetes", "default/wl-a", "default/wl-b"}},
		{name: "all namespaces", path: "/api/v1/services", query: watchListQuery, wantKind: "Service", want: []string{"default/kubernetes", "default/wl-a", "default/wl-b", "kube-system/kube-dns", "other/wl-c"}},
		{name: "label selector", path: "/api/v1/services", query: watchListQuery + "&labelSelector=" + url.QueryEscape("team=a"), wantKind: "Service", want: []string{"default/wl-a", "other/wl-c"}},
		{name: "field selector", path: svcs, query: watchListQuery + "&fieldSelector=" + url.QueryEscape("metadata.name=wl-b"), wantKind: "Service", want: []string{"default/wl-b"}},
		{name: "from a resourceVersion the whole state is sent, not the changes after it", path: svcs, query: watchListQuery + "&resourceVersion=" + listRV, wantKind: "Service", want: []string{"default/kubernetes", "default/wl-a", "default/wl-b"}, minRV: listRV},
		{name: "resourceVersion 0", path: svcs, query: watchListQuery + "&resourceVersion=0", wantKind: "Service", want: []string{"default/kubernetes", "default/wl-a", "default/wl-b"}},
		{name: "cluster-scoped namespaces", path: "/api/v1/namespaces", query: watchListQuery, wantKind: "Namespace", want: []string{"/default", "/kube-node-lease", "/kube-public", "/kube-system", "/other"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			w := startRawWatch(ctx, t, hc, cfg.Host+tc.path+"?"+tc.query)
			if w.code != http.StatusOK {
				t.Fatalf("watch-list: HTTP %d %s; want 200 and a stream", w.code, w.body)
			}
			added, end := w.initialEvents(t)
			var got []string
			var maxRV int64
			for _, ev := range added {
				got = append(got, ev.key())
				if ev.Object.Kind != tc.wantKind || ev.Object.APIVersion != "v1" {
					t.Errorf("ADDED %s has kind %q apiVersion %q; want %s v1", ev.key(), ev.Object.Kind, ev.Object.APIVersion, tc.wantKind)
				}
				maxRV = max(maxRV, rvNumber(t, ev.Object.Metadata.ResourceVersion))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("initial ADDED = %q; want %q", got, tc.want)
			}
			endRV := rvNumber(t, end.Object.Metadata.ResourceVersion)
			if endRV < maxRV {
				t.Errorf("initial-events-end bookmark at resourceVersion %d; want >= %d, the newest ADDED", endRV, maxRV)
			}
			if tc.minRV != "" && endRV < rvNumber(t, tc.minRV) {
				t.Errorf("initial-events-end bookmark at resourceVersion %d; want >= the requested %s", endRV, tc.minRV)
			}
			if end.Object.Kind != tc.wantKind || end.Object.APIVersion != "v1" {
				t.Errorf("bookmark kind %q apiVersion %q; want %s v1", end.Object.Kind, end.Object.APIVersion, tc.wantKind)
			}
		})
	}

	t.Run("changes after the initial state", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w := startRawWatch(ctx, t, hc, cfg.Host+svcs+"?"+watchListQuery)
		if w.code != http.StatusOK {
			t.Fatalf("watch-list: HTTP %d %s", w.code, w.body)
		}
		_, end := w.initialEvents(t)
		endRV := rvNumber(t, end.Object.Metadata.ResourceVersion)

		created := mustCreateService(t, cs, "default", "wl-d", nil)
		updated := mustMergePatch(t, cs, "default", "wl-a", `{"metadata":{"labels":{"team":"z"}}}`)
		if err := cs.CoreV1().Services("default").Delete(context.Background(), "wl-b", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Changes in another namespace do not reach this watch.
		mustMergePatch(t, cs, "other", "wl-c", `{"metadata":{"labels":{"team":"z"}}}`)
		created2 := mustCreateService(t, cs, "default", "wl-e", nil)

		want := []struct {
			typ, name, rv string
		}{
			{typ: "ADDED", name: "wl-d", rv: created.ResourceVersion},
			{typ: "MODIFIED", name: "wl-a", rv: updated.ResourceVersion},
			{typ: "DELETED", name: "wl-b"},
			{typ: "ADDED", name: "wl-e", rv: created2.ResourceVersion},
		}
		for _, wnt := range want {
			ev := w.nextChange(t, 10*time.Second)
			if ev.Type != wnt.typ || ev.Object.Metadata.Name != wnt.name || (wnt.rv != "" && ev.Object.Metadata.ResourceVersion != wnt.rv) {
				t.Errorf("event = %s %s rv %s; want %s %s rv %s", ev.Type, ev.Object.Metadata.Name, ev.Object.Metadata.ResourceVersion, wnt.typ, wnt.name, wnt.rv)
			}
			if rv := rvNumber(t, ev.Object.Metadata.ResourceVersion); rv <= endRV {
				t.Errorf("%s %s at resourceVersion %d; want after the initial-events-end bookmark %d", ev.Type, ev.Object.Metadata.Name, rv, endRV)
			}
		}
	})

	// A watch-list from a resourceVersion the server has not reached must not
	// claim, with its end bookmark, a state older than the one asked for.
	// kube-apiserver waits about 3s for its cache, then ends the stream with an
	// ERROR event: 504 Timeout "Too large resource version".
	t.Run("resourceVersion ahead of the server", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		future := strconv.FormatInt(rvNumber(t, listRV)+1000, 10)
		w := startRawWatch(ctx, t, hc, cfg.Host+svcs+"?"+watchListQuery+"&resourceVersion="+future)
		if w.code != http.StatusOK {
			if w.code < 400 {
				t.Errorf("HTTP %d %s; want an error", w.code, w.body)
			}
			return
		}
		for {
			select {
			case ev, ok := <-w.events:
				if !ok {
					t.Fatalf("stream ended without an error or an end bookmark")
				}
				if ev.Type == string(watch.Error) {
					if ev.Object.Code != http.StatusGatewayTimeout {
						t.Logf("ERROR event code %d %s (kube-apiserver sends 504 Timeout)", ev.Object.Code, ev.Object.Message)
					}
					return
				}
				if ev.isInitialEventsEnd() {
					t.Fatalf("initial-events-end bookmark at resourceVersion %s; want an error, or a bookmark at >= the requested %s", ev.Object.Metadata.ResourceVersion, future)
				}
			case <-ctx.Done():
				t.Fatalf("no error and no end bookmark within 20s")
			}
		}
	})

	// kube-apiserver accepts sendInitialEvents without allowWatchBookmarks: the
	// initial ADDED events come, only the end bookmark is left out.
	t.Run("without allowWatchBookmarks", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		w := startRawWatch(ctx, t, hc, cfg.Host+svcs+"?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&fieldSelector="+url.QueryEscape("metadata.name=kubernetes"))
		if w.code != http.StatusOK {
			t.Fatalf("HTTP %d %s; want 200 with the initial events, as kube-apiserver answers", w.code, w.body)
		}
		if ev := w.next(t, 10*time.Second); ev.Type != "ADDED" || ev.Object.Metadata.Name != "kubernetes" {
			t.Errorf("first event = %s %s; want ADDED kubernetes", ev.Type, ev.key())
		}
	})
}

// TestWatchListInvalidOptions checks that option combinations kube-apiserver
// rejects get an error reply at once, never a stream that hangs.
func TestWatchListInvalidOptions(t *testing.T) {
	s := startServer(t)
	cfg := s.restConfig()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc.Timeout = 5 * time.Second
	svcs := cfg.Host + "/api/v1/namespaces/default/services?"
	tests := []struct {
		name        string
		query       string
		wantMessage string
	}{
		{name: "sendInitialEvents without resourceVersionMatch", query: "watch=true&sendInitialEvents=true&allowWatchBookmarks=true", wantMessage: "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"},
		{name: "sendInitialEvents with resourceVersionMatch Exact", query: "watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&allowWatchBookmarks=true", wantMessage: "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"},
		{name: "resourceVersionMatch on a watch without sendInitialEvents", query: "watch=true&resourceVersionMatch=NotOlderThan", wantMessage: "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"},
		{name: "sendInitialEvents on a list", query: "sendInitialEvents=true", wantMessage: "sendInitialEvents is forbidden for list"},
		{name: "resourceVersionMatch on a list without resourceVersion", query: "resourceVersionMatch=NotOlderThan", wantMessage: "resourceVersionMatch is forbidden unless resourceVersion is provided"},
		{name: "resourceVersionMatch Exact with resourceVersion 0", query: "resourceVersionMatch=Exact&resourceVersion=0", wantMessage: `resourceVersionMatch "exact" is forbidden for resourceVersion "0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := hc.Get(svcs + tc.query)
			if err != nil {
				t.Fatalf("GET ?%s: %v (a hanging stream times out here)", tc.query, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("GET ?%s: 200; want 422 Invalid (kube-apiserver) or 400", tc.query)
			}
			body, _ := io.ReadAll(resp.Body)
			var st metav1.Status
			if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" {
				t.Fatalf("reply %q is not a Status: %v", body, err)
			}
			wantReason := map[int]metav1.StatusReason{http.StatusUnprocessableEntity: metav1.StatusReasonInvalid, http.StatusBadRequest: metav1.StatusReasonBadRequest}[resp.StatusCode]
			if wantReason == "" || st.Reason != wantReason || int(st.Code) != resp.StatusCode {
				t.Errorf("reply HTTP %d code %d reason %q; want 422 Invalid (or 400 BadRequest)", resp.StatusCode, st.Code, st.Reason)
			}
			if !strings.Contains(st.Message, tc.wantMessage) {
				t.Errorf("message = %q; want it to contain %q", st.Message, tc.wantMessage)
			}
		})
	}
}

// requestLog records the requests a client sends.
type requestLog struct {
	mu   sync.Mutex
	reqs []*url.URL
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet {
			l.mu.Lock()
			l.reqs = append(l.reqs, r.URL)
			l.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

// collectionGets splits the GETs of a collection path into watch-list requests,
// other watches and plain lists.
func (l *requestLog) collectionGets(path string) (watchLists, watches, lists []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, u := range l.reqs {
		if u.Path != path {
			continue
		}
		q := u.Query()
		switch {
		case q.Get("watch") != "true" && q.Get("watch") != "1":
			lists = append(lists, u.RawQuery)
		case q.Get("sendInitialEvents") == "true" && q.Get("resourceVersionMatch") == "NotOlderThan" && q.Get("allowWatchBookmarks") == "true":
			watchLists = append(watchLists, u.RawQuery)
		default:
			watches = append(watches, u.RawQuery)
		}
	}
	return watchLists, watches, lists
}

// connTracker remembers a client's connections so a test can cut them.
type connTracker struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (c *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
	}
	return conn, err
}

func (c *connTracker) closeAll() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	n := len(c.conns)
	c.conns = nil
	return n
}

// storeMatchesServer compares an informer's store with a fresh list: the same
// objects at the same resourceVersions.
func storeMatchesServer(cs kubernetes.Interface, store cache.Store, selector string) error {
	list, err := cs.CoreV1().Services("").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, svc := range list.Items {
		want[svc.Namespace+"/"+svc.Name] = svc.ResourceVersion
	}
	got := map[string]string{}
	for _, o := range store.List() {
		svc := o.(*corev1.Service)
		got[svc.Namespace+"/"+svc.Name] = svc.ResourceVersion
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("informer store = %v; server has %v", got, want)
	}
	return nil
}

// TestWatchListInformer runs client-go informers, which stream their initial
// state with the WatchListClient feature (on by default in client-go 0.37), and
// checks on the wire that they never fall back to a LIST, including after their
// connections are cut, and that they stay in sync.
func TestWatchListInformer(t *testing.T) {
	if !clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Fatalf("client-go feature WatchListClient is off in this process (is KUBE_FEATURE_WatchListClient=false set?); this test needs it on")
	}
	s := startServer(t)
	cs := s.client()
	for i := range 3 {
		mustCreateService(t, cs, "default", fmt.Sprintf("pre-%d", i), nil)
	}
	tests := []struct {
		name        string
		contentType string
	}{
		{name: "json", contentType: "application/json"},
		{name: "protobuf", contentType: "application/vnd.kubernetes.protobuf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, conns := &requestLog{}, &connTracker{}
			cfg := s.restConfig()
			cfg.ContentType, cfg.AcceptContentTypes = tc.contentType, tc.contentType
			cfg.Wrap(log.wrap)
			cfg.Dial = conns.dial
			watched, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			f := informers.NewSharedInformerFactory(watched, 0)
			inf := f.Core().V1().Services().Informer()
			f.Start(ctx.Done())
			// Stop the informers, then wait for them (deferred calls run in reverse).
			defer f.Shutdown()
			defer cancel()
			syncCtx, syncCancel := context.WithTimeout(ctx, 15*time.Second)
			defer syncCancel()
			if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
				t.Fatalf("informer did not sync within 15s")
			}
			eventually(t, 10*time.Second, func() error { return storeMatchesServer(cs, inf.GetStore(), "") })

			checkWire := func(t *testing.T) {
				t.Helper()
				watchLists, _, lists := log.collectionGets("/api/v1/services")
				if len(watchLists) == 0 {
					t.Errorf("no watch-list request (%s) was sent", watchListQuery)
				}
				if len(lists) != 0 {
					t.Errorf("the informer sent LIST requests %q; want only watches (it fell back from watch-list)", lists)
				}
			}
			checkWire(t)

			prefix := "inf-" + tc.name
			churn := func(round int) {
				for i := range 4 {
					mustCreateService(t, cs, "default", fmt.Sprintf("%s-%d-%d", prefix, round, i), nil)
				}
				mustMergePatch(t, cs, "default", fmt.Sprintf("%s-%d-0", prefix, round), `{"metadata":{"labels":{"changed":"yes"}}}`)
				if err := cs.CoreV1().Services("default").Delete(context.Background(), fmt.Sprintf("%s-%d-1", prefix, round), metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			churn(0)
			eventually(t, 10*time.Second, func() error { return storeMatchesServer(cs, inf.GetStore(), "") })

			// Cut the connections: the reflector must resume (by a watch from
			// its last resourceVersion or a new watch-list) and catch up.
			if n := conns.closeAll(); n == 0 {
				t.Fatalf("no connection to cut")
			}
			churn(1)
			eventually(t, 30*time.Second, func() error { return storeMatchesServer(cs, inf.GetStore(), "") })
			checkWire(t)
			watchLists, watches, _ := log.collectionGets("/api/v1/services")
			t.Logf("watch-list requests %q; watches %q", watchLists, watches)
			if len(watchLists)+len(watches) < 2 {
				t.Errorf("watch requests after the cut: watch-lists %q, watches %q; want a new one", watchLists, watches)
			}
		})
	}
}

// TestKubectlGetWatch runs `kubectl get svc -w` and checks that a Service created
// and deleted while it watches is printed as a new row each time.
func TestKubectlGetWatch(t *testing.T) {
	s := startServer(t)
	cs := s.client()
	tests := []struct {
		name string
		argv func(t *testing.T) []string
	}{
		{name: "built-in", argv: func(*testing.T) []string { return []string{binary, "kubectl"} }},
		{name: "debian 1.20", argv: func(t *testing.T) []string { return []string{debianKubectlPath(t)} }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			argv := tc.argv(t)
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			args := slices.Concat(argv[1:], []string{"--kubeconfig", s.kubeconfig, "get", "svc", "-w", "--request-timeout=35s"})
			cmd := exec.CommandContext(ctx, argv[0], args...)
			cmd.Env = append(os.Environ(), "HOME="+s.home, "KUBECONFIG=", "NO_COLOR=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); _ = cmd.Wait() }()
			lines := make(chan string, 100)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			// waitRow returns the cells of the next row for name.
			var header []string
			waitRow := func(name string) map[string]string {
				t.Helper()
				timeout := time.After(15 * time.Second)
				for {
					select {
					case line, ok := <-lines:
						if !ok {
							t.Fatalf("kubectl exited before printing %s; stderr %q", name, stderr.String())
						}
						cells := columnGap.Split(strings.TrimSpace(line), -1)
						if cells[0] == "NAME" {
							header = cells
							continue
						}
						if cells[0] != name {
							continue
						}
						if len(cells) != len(header) {
							t.Fatalf("row %q does not fit header %q", line, header)
						}
						row := map[string]string{}
						for j, h := range header {
							row[h] = cells[j]
						}
						return row
					case <-timeout:
						t.Fatalf("kubectl printed no row for %s within 15s; stderr %q", name, stderr.String())
					}
				}
			}
			waitRow("kubernetes")
			name := fmt.Sprintf("watched-%d", i)
			svc := mustCreateService(t, cs, "default", name, nil)
			want := map[string]string{"NAME": name, "TYPE": "ClusterIP", "CLUSTER-IP": svc.Spec.ClusterIP, "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP"}
			check := func(what string, row map[string]string) {
				t.Helper()
				for col, v := range want {
					if row[col] != v {
						t.Errorf("%s row column %s = %q; want %q (row %v)", what, col, row[col], v, row)
					}
				}
			}
			check("created", waitRow(name))
			if err := cs.CoreV1().Services("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			check("deleted", waitRow(name))
			if !slices.Equal(header, []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}) {
				t.Errorf("header = %q", header)
			}
		})
	}
}

// TestLabelSelectorWatch checks that a watch with a label selector sees objects
// enter and leave the selection: relabelled in arrives as ADDED, relabelled out
// as DELETED, as kube-apiserver does.
func TestLabelSelectorWatch(t *testing.T) {
	s := startServer(t)
	cs := s.client()
	tests := []struct {
		name     string
		selector string
		// wantLegacy is the event when the label legacy=true is added.
		wantLegacy watch.EventType
	}{
		{name: "equality", selector: "team=a", wantLegacy: watch.Modified},
		{name: "set-based", selector: "team in (a,x),!legacy", wantLegacy: watch.Deleted},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("sel-%d", i)
			svc := mustCreateService(t, cs, "default", name, map[string]string{"team": "b"})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			w, err := cs.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{LabelSelector: tc.selector, ResourceVersion: svc.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			next := func() (watch.EventType, *corev1.Service) {
				t.Helper()
				timeout := time.After(10 * time.Second)
				for {
					select {
					case ev, ok := <-w.ResultChan():
						if !ok {
							t.Fatalf("watch ended")
						}
						if ev.Type == watch.Bookmark {
							continue
						}
						got, ok := ev.Object.(*corev1.Service)
						if !ok {
							t.Fatalf("event %s with %T %+v", ev.Type, ev.Object, ev.Object)
						}
						return ev.Type, got
					case <-timeout:
						t.Fatalf("no event within 10s")
					}
				}
			}
			expect := func(step string, wantType watch.EventType, wantRV, wantTeam string) {
				t.Helper()
				typ, got := next()
				if typ != wantType || got.Name != name || got.ResourceVersion != wantRV {
					t.Errorf("%s: event %s %s rv %s; want %s %s rv %s", step, typ, got.Name, got.ResourceVersion, wantType, name, wantRV)
				}
				if wantTeam != "" && got.Labels["team"] != wantTeam {
					t.Errorf("%s: %s object has team=%q; want %q (for DELETED, kube-apiserver sends the last state that matched, at the new resourceVersion)", step, typ, got.Labels["team"], wantTeam)
				}
			}
			// Not matching at first: changes make no events.
			mustMergePatch(t, cs, "default", name, `{"metadata":{"annotations":{"a":"1"}}}`)
			in := mustMergePatch(t, cs, "default", name, `{"metadata":{"labels":{"team":"a"}}}`)
			expect("relabelled in", watch.Added, in.ResourceVersion, "a")
			mod := mustMergePatch(t, cs, "default", name, `{"metadata":{"annotations":{"a":"2"}}}`)
			expect("changed while matching", watch.Modified, mod.ResourceVersion, "a")
			out := mustMergePatch(t, cs, "default", name, `{"metadata":{"labels":{"team":"b"}}}`)
			expect("relabelled out", watch.Deleted, out.ResourceVersion, "a")
			mustCreateService(t, cs, "default", name+"-other", map[string]string{"team": "c"})
			back := mustMergePatch(t, cs, "default", name, `{"metadata":{"labels":{"team":"a"}}}`)
			expect("relabelled in again", watch.Added, back.ResourceVersion, "a")
			legacy := mustMergePatch(t, cs, "default", name, `{"metadata":{"labels":{"legacy":"true"}}}`)
			expect("legacy label added", tc.wantLegacy, legacy.ResourceVersion, "a")
			if tc.wantLegacy == watch.Deleted {
				legacy = mustMergePatch(t, cs, "default", name, `{"metadata":{"labels":{"legacy":null}}}`)
				expect("legacy label removed", watch.Added, legacy.ResourceVersion, "a")
			}
			if err := cs.CoreV1().Services("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			typ, got := next()
			if typ != watch.Deleted || got.Name != name {
				t.Errorf("after delete: %s %s; want DELETED %s", typ, got.Name, name)
			}
		})
	}

	t.Run("informer", func(t *testing.T) {
		const selector = "team=inf"
		mustCreateService(t, cs, "default", "inf-in", map[string]string{"team": "inf"})
		mustCreateService(t, cs, "default", "inf-out", map[string]string{"team": "other"})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		f := informers.NewSharedInformerFactoryWithOptions(s.client(), 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
		inf := f.Core().V1().Services().Informer()
		f.Start(ctx.Done())
		defer f.Shutdown()
		defer cancel()
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			t.Fatal("informer did not sync")
		}
		steps := []struct {
			name, svc, patch string
		}{
			{name: "start"},
			{name: "relabel out", svc: "inf-in", patch: `{"metadata":{"labels":{"team":"other"}}}`},
			{name: "relabel in", svc: "inf-out", patch: `{"metadata":{"labels":{"team":"inf"}}}`},
			{name: "change while in", svc: "inf-out", patch: `{"metadata":{"annotations":{"x":"y"}}}`},
		}
		for _, st := range steps {
			if st.svc != "" {
				mustMergePatch(t, cs, "default", st.svc, st.patch)
			}
			eventually(t, 10*time.Second, func() error {
				if err := storeMatchesServer(cs, inf.GetStore(), selector); err != nil {
					return fmt.Errorf("%s: %w", st.name, err)
				}
				return nil
			})
		}
	})
}
