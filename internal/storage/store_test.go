package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

func startStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	e, err := StartEmbedded(ctx, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(e.Close)
	return New(e.Client())
}

func TestTxnPreconditions(t *testing.T) {
	s := startStore(t)
	ctx := context.Background()
	rev, err := s.Txn(ctx, Put("/a", []byte("1"), Absent), Put("/alloc/x", []byte("a"), Absent))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	tests := []struct {
		name    string
		ops     []Op
		wantKey string
	}{
		{name: "create existing", ops: []Op{Put("/a", []byte("2"), Absent)}, wantKey: "/a"},
		{name: "stale revision", ops: []Op{Put("/a", []byte("2"), rev-1)}, wantKey: "/a"},
		{name: "second op conflicts", ops: []Op{Put("/b", []byte("1"), Absent), Put("/alloc/x", []byte("b"), Absent)}, wantKey: "/alloc/x"},
		{name: "delete missing at revision", ops: []Op{Del("/missing", 5)}, wantKey: "/missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Txn(ctx, tc.ops...)
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("Txn() error = %v; want ConflictError", err)
			}
			if ce.Key != tc.wantKey {
				t.Errorf("conflict key = %q; want %q", ce.Key, tc.wantKey)
			}
		})
	}
	// Nothing partial was written by the failed transaction.
	if _, err := s.Get(ctx, "/b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(/b) err = %v; want ErrNotFound", err)
	}
	if _, err := s.Txn(ctx, Put("/a", []byte("3"), rev)); err != nil {
		t.Errorf("update at current revision: %v", err)
	}
}

func TestListPaging(t *testing.T) {
	s := startStore(t)
	ctx := context.Background()
	for i := range 25 {
		if _, err := s.Txn(ctx, Put(fmt.Sprintf("/p/%02d", i), []byte("v"), Absent)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	opts := ListOptions{Limit: 10}
	first := int64(0)
	for {
		res, err := s.List(ctx, "/p/", opts)
		if err != nil {
			t.Fatal(err)
		}
		if first == 0 {
			first = res.Revision
			// A write between pages is not visible: pages read at one revision.
			if _, err := s.Txn(ctx, Put("/p/99", []byte("v"), Absent)); err != nil {
				t.Fatal(err)
			}
		} else if res.Revision != first {
			t.Errorf("page revision = %d; want %d", res.Revision, first)
		}
		for _, kv := range res.KVs {
			got = append(got, kv.Key)
		}
		if res.Continue == "" {
			break
		}
		opts = ListOptions{Limit: 10, Continue: res.Continue}
	}
	if len(got) != 25 {
		t.Errorf("paged list returned %d keys; want 25", len(got))
	}
	if _, err := s.List(ctx, "/p/", ListOptions{Continue: "garbage"}); !errors.Is(err, ErrBadContinue) {
		t.Errorf("bad continue err = %v; want ErrBadContinue", err)
	}
}

func TestWatchAndCompaction(t *testing.T) {
	s := startStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := s.Txn(ctx, Put("/w/a", []byte("1"), Absent))
	r2, _ := s.Txn(ctx, Put("/w/a", []byte("2"), r1))
	if _, err := s.Txn(ctx, Del("/w/a", r2)); err != nil {
		t.Fatal(err)
	}
	events, _ := s.Watch(ctx, "/w/", start)
	want := []struct {
		typ   EventType
		value string
		prev  string
	}{{Created, "1", ""}, {Modified, "2", "1"}, {Deleted, "2", "2"}}
	for i, w := range want {
		var ev Event
		for ev = range events {
			if ev.Type != Progress {
				break
			}
		}
		if ev.Type != w.typ || string(ev.Value) != w.value || string(ev.PrevValue) != w.prev {
			t.Errorf("event %d = %+v; want %+v", i, ev, w)
		}
	}
	now, _ := s.Revision(ctx)
	if err := s.Compact(ctx, now); err != nil {
		t.Fatal(err)
	}
	_, errc := s.Watch(ctx, "/w/", start)
	if err := <-errc; !errors.Is(err, ErrCompacted) {
		t.Errorf("watch from compacted revision err = %v; want ErrCompacted", err)
	}
	if _, err := s.List(ctx, "/w/", ListOptions{Revision: start}); !errors.Is(err, ErrCompacted) {
		t.Errorf("list at compacted revision err = %v; want ErrCompacted", err)
	}
}
