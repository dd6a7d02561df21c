package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// nextEvent waits for the next event of w.
func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event within 5s")
	}
	return watch.Event{}
}

// noEvent checks that w stays quiet for a moment.
func noEvent(t *testing.T, w watch.Interface) {
	t.Helper()
	select {
	case ev := <-w.ResultChan():
		t.Errorf("unexpected event %s %v", ev.Type, ev.Object)
	case <-time.After(300 * time.Millisecond):
	}
}

func eventName(ev watch.Event) string {
	if s, ok := ev.Object.(*corev1.Service); ok {
		return s.Name
	}
	return ""
}

func labelPatch(t *testing.T, s *testServer, ns, name, value string) {
	t.Helper()
	patch := `{"metadata":{"labels":{"tier":"` + value + `"}}}`
	if _, err := s.client().CoreV1().Services(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch %s: %v", name, err)
	}
}

// TestWatchSelectorTranslation checks that a selector turns modifications that
// cross it into ADDED and DELETED, for JSON and protobuf clients.
func TestWatchSelectorTranslation(t *testing.T) {
	s := startServer(t, "w")
	for i, ct := range []string{"", protoType} {
		t.Run("content type "+ct, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			name := "web" + strconv.Itoa(i)
			s.createSvc("w", svc(name, map[string]string{"tier": "back"}))
			list, err := s.client().CoreV1().Services("w").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := s.clientFor(ct).CoreV1().Services("w").Watch(ctx, metav1.ListOptions{
				LabelSelector: "tier=front", ResourceVersion: list.ResourceVersion,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()

			// wantTier is the state the event carries: leaving the selector shows
			// the last state that matched, as kube-apiserver does.
			steps := []struct {
				tier, wantTier string
				wantType       watch.EventType // "" means no event
			}{
				{tier: "front", wantTier: "front", wantType: watch.Added},
				{tier: "front2", wantTier: "front", wantType: watch.Deleted},
				{tier: "back", wantType: ""},
				{tier: "front", wantTier: "front", wantType: watch.Added},
			}
			for _, st := range steps {
				labelPatch(t, s, "w", name, st.tier)
				if st.wantType == "" {
					continue
				}
				ev := nextEvent(t, w)
				if ev.Type != st.wantType || eventName(ev) != name {
					t.Errorf("after tier=%s: event %s %s; want %s %s", st.tier, ev.Type, eventName(ev), st.wantType, name)
				}
				if got := ev.Object.(*corev1.Service).Labels["tier"]; got != st.wantTier {
					t.Errorf("event object tier = %s; want %s", got, st.wantTier)
				}
			}
			// A change that keeps it matching is MODIFIED; deletion is DELETED.
			patch := `{"metadata":{"annotations":{"n":"1"}}}`
			if _, err := s.client().CoreV1().Services("w").Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			if ev := nextEvent(t, w); ev.Type != watch.Modified {
				t.Errorf("annotation change: %s; want MODIFIED", ev.Type)
			}
			// An update with no change writes nothing and sends nothing.
			cur, err := s.client().CoreV1().Services("w").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.client().CoreV1().Services("w").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			noEvent(t, w)
			if err := s.client().CoreV1().Services("w").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			ev := nextEvent(t, w)
			if ev.Type != watch.Deleted || eventName(ev) != name {
				t.Errorf("delete: %s %s; want DELETED %s", ev.Type, eventName(ev), name)
			}
			if rv := ev.Object.(*corev1.Service).ResourceVersion; rv == cur.ResourceVersion {
				t.Errorf("DELETED resourceVersion = %s; want the deletion's revision", rv)
			}
		})
	}
}

// TestWatchInitialState checks the synthetic ADDED events of a watch without a
// resourceVersion and the watch-list protocol.
func TestWatchInitialState(t *testing.T) {
	s := startServer(t, "init")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.createSvc("init", svc("a", nil))
	s.createSvc("init", svc("b", nil))
	cs := s.client().CoreV1().Services("init")

	t.Run("resourceVersion 0 with a name selector", func(t *testing.T) {
		w, err := cs.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=b", ResourceVersion: "0"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if ev := nextEvent(t, w); ev.Type != watch.Added || eventName(ev) != "b" {
			t.Errorf("first event %s %s; want ADDED b", ev.Type, eventName(ev))
		}
		noEvent(t, w)
	})
	t.Run("sendInitialEvents", func(t *testing.T) {
		yes := true
		w, err := cs.Watch(ctx, metav1.ListOptions{
			SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var got []string
		for _, want := range []string{"a", "b"} {
			ev := nextEvent(t, w)
			if ev.Type != watch.Added {
				t.Fatalf("event %s; want ADDED %s", ev.Type, want)
			}
			got = append(got, eventName(ev))
		}
		if strings.Join(got, ",") != "a,b" {
			t.Errorf("initial events = %v; want a,b", got)
		}
		ev := nextEvent(t, w)
		bm, ok := ev.Object.(*corev1.Service)
		if ev.Type != watch.Bookmark || !ok || bm.Annotations[initialEventsEnd] != "true" || bm.ResourceVersion == "" {
			t.Errorf("after initial events: %s %+v; want the initial-events-end bookmark", ev.Type, ev.Object)
		}
	})
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{name: "match without sendInitialEvents", query: "watch=true&resourceVersionMatch=NotOlderThan", want: "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"},
		{name: "sendInitialEvents without NotOlderThan", query: "watch=true&sendInitialEvents=true&allowWatchBookmarks=true", want: "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"},
		{name: "bad resourceVersion", query: "watch=true&resourceVersion=x", want: "invalid resource version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodGet, "/api/v1/namespaces/init/services?"+tc.query, "")
			if r.code != 422 && r.code != 400 {
				t.Fatalf("code = %d; want 400 or 422 (body %s)", r.code, r.body)
			}
			if st := r.status(t); !strings.Contains(st.Message, tc.want) {
				t.Errorf("message = %q; want it to contain %q", st.Message, tc.want)
			}
		})
	}
}

// TestWatchBookmarks checks periodic bookmarks.
func TestWatchBookmarks(t *testing.T) {
	s := startServerWith(t, Config{BookmarkInterval: 100 * time.Millisecond}, "bm")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	created := s.createSvc("bm", svc("a", nil))
	w, err := s.client().CoreV1().Services("bm").Watch(ctx, metav1.ListOptions{ResourceVersion: created.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := nextEvent(t, w)
	bm, ok := ev.Object.(*corev1.Service)
	if ev.Type != watch.Bookmark || !ok || bm.ResourceVersion == "" || bm.Name != "" {
		t.Fatalf("event %s %+v; want a bookmark carrying only a resourceVersion", ev.Type, ev.Object)
	}
	if n, _ := strconv.ParseInt(bm.ResourceVersion, 10, 64); n < mustRV(t, created.ResourceVersion) {
		t.Errorf("bookmark resourceVersion %s is older than the watch start %s", bm.ResourceVersion, created.ResourceVersion)
	}

	// Without allowWatchBookmarks there are none.
	w2, err := s.client().CoreV1().Services("bm").Watch(ctx, metav1.ListOptions{ResourceVersion: created.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	noEvent(t, w2)
}

func mustRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}

// TestWatchCompacted checks that a watch from a compacted revision ends with a
// 410 Expired ERROR event, which makes informers relist.
func TestWatchCompacted(t *testing.T) {
	s := startServer(t, "cp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := s.createSvc("cp", svc("a", nil))
	s.createSvc("cp", svc("b", nil))
	s.createSvc("cp", svc("c", nil))
	// Events after first start at first+1 (b), which compaction removes.
	rev, err := s.store.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	w, err := s.client().CoreV1().Services("cp").Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := nextEvent(t, w)
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired {
		t.Fatalf("event %s %+v; want ERROR with a 410 Expired Status", ev.Type, ev.Object)
	}
	if !strings.Contains(st.Message, "too old resource version: "+first.ResourceVersion) {
		t.Errorf("message = %q; want it to name the requested resourceVersion", st.Message)
	}
}

// TestWatchTable checks Table watches as kubectl get -w asks for them: column
// definitions only in the first event, each row with its resourceVersion.
func TestWatchTable(t *testing.T) {
	s := startServer(t, "tw")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.createSvc("tw", svc("a", nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/namespaces/tw/services?watch=true&resourceVersion=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", tableV1)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("code = %d", resp.StatusCode)
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	next := func() (string, metav1.Table) {
		var ev struct {
			Type   string       `json:"type"`
			Object metav1.Table `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("decode watch event: %v", err)
		}
		return ev.Type, ev.Object
	}
	typ, first := next()
	if typ != "ADDED" || first.Kind != "Table" || len(first.ColumnDefinitions) == 0 || len(first.Rows) != 1 || first.ResourceVersion == "" {
		t.Fatalf("first event %s %+v; want an ADDED Table with columns and one row", typ, first)
	}
	s.createSvc("tw", svc("b", nil))
	typ, second := next()
	if typ != "ADDED" || len(second.ColumnDefinitions) != 0 || len(second.Rows) != 1 || second.Rows[0].Cells[0] != "b" {
		t.Errorf("second event %s %+v; want an ADDED row for b without columns", typ, second)
	}
}
