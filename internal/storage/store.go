package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Sentinel errors returned (wrapped) by Store methods.
var (
	// ErrNotFound means the key does not exist.
	ErrNotFound = errors.New("key not found")
	// ErrCompacted means the requested revision is older than etcd keeps.
	ErrCompacted = errors.New("revision compacted")
	// ErrBadContinue means a continue token could not be decoded.
	ErrBadContinue = errors.New("invalid continue token")
)

// ConflictError reports which precondition of a transaction failed.
type ConflictError struct {
	Key string
	// Exists tells whether the key exists now; Revision is its current mod revision.
	Exists   bool
	Revision int64
}

func (e *ConflictError) Error() string {
	if e.Exists {
		return fmt.Sprintf("precondition failed on %q: it exists at revision %d", e.Key, e.Revision)
	}
	return fmt.Sprintf("precondition failed on %q: it does not exist", e.Key)
}

// KV is one stored value.
type KV struct {
	Key            string
	Value          []byte
	ModRevision    int64
	CreateRevision int64
}

// Store is a view of an etcd keyspace. It is safe for concurrent use.
type Store struct {
	client *clientv3.Client
}

// New returns a Store over client. The Store does not own the client.
func New(client *clientv3.Client) *Store {
	return &Store{client: client}
}

// Client returns the underlying etcd client.
func (s *Store) Client() *clientv3.Client { return s.client }

// Get reads key at the latest revision (a linearizable read).
func (s *Store) Get(ctx context.Context, key string) (KV, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return KV{}, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	if len(resp.Kvs) == 0 {
		return KV{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return fromKV(resp.Kvs[0]), nil
}

// ListOptions selects a page of a prefix.
type ListOptions struct {
	// Revision reads the prefix as it was at that revision; 0 means latest.
	Revision int64
	// Limit caps the number of keys returned; 0 means all.
	Limit int64
	// Continue resumes a previous paged list; it carries its own revision.
	Continue string
}

// ListResult is a page of a prefix.
type ListResult struct {
	KVs []KV
	// Revision is the revision the page was read at.
	Revision int64
	// Continue is non-empty when more keys follow; RemainingItems counts them.
	Continue       string
	RemainingItems int64
}

type continueToken struct {
	Rev   int64  `json:"rv"`
	Start string `json:"start"`
}

// List reads the keys under prefix in key order.
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error) {
	start := prefix
	rev := opts.Revision
	if opts.Continue != "" {
		raw, err := base64.RawURLEncoding.DecodeString(opts.Continue)
		if err != nil {
			return ListResult{}, ErrBadContinue
		}
		var tok continueToken
		if err := json.Unmarshal(raw, &tok); err != nil || tok.Rev <= 0 || len(tok.Start) < len(prefix) || tok.Start[:len(prefix)] != prefix {
			return ListResult{}, ErrBadContinue
		}
		start, rev = tok.Start, tok.Rev
	}
	ops := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if rev > 0 {
		ops = append(ops, clientv3.WithRev(rev))
	}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, start, ops...)
	if err != nil {
		return ListResult{}, fmt.Errorf("list %s: %w", prefix, mapErr(err))
	}
	res := ListResult{Revision: resp.Header.Revision, KVs: make([]KV, 0, len(resp.Kvs))}
	if rev > 0 {
		res.Revision = rev
	}
	for _, kv := range resp.Kvs {
		res.KVs = append(res.KVs, fromKV(kv))
	}
	if resp.More && len(resp.Kvs) > 0 {
		last := string(resp.Kvs[len(resp.Kvs)-1].Key)
		raw, _ := json.Marshal(continueToken{Rev: res.Revision, Start: last + "\x00"})
		res.Continue = base64.RawURLEncoding.EncodeToString(raw)
		res.RemainingItems = resp.Count - int64(len(resp.Kvs))
	}
	return res, nil
}

// Revision returns the current revision of the store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/\x00revision-probe", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", mapErr(err))
	}
	return resp.Header.Revision, nil
}

// Precondition values for Op.Expect.
const (
	// Any applies the op whatever the key's state.
	Any int64 = -1
	// Absent requires the key not to exist.
	Absent int64 = 0
)

// Op is one write in a transaction, with a precondition on the key's current
// modification revision: Any, Absent, or an exact revision.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
	Expect int64
}

// Put returns an op that writes key if its revision equals expect.
func Put(key string, value []byte, expect int64) Op {
	return Op{Key: key, Value: value, Expect: expect}
}

// Del returns an op that deletes key if its revision equals expect.
func Del(key string, expect int64) Op {
	return Op{Key: key, Delete: true, Expect: expect}
}

// Check returns an op that writes nothing but requires key to be at revision expect
// (or Absent).
func Check(key string, expect int64) Op {
	return Op{Key: key, Expect: expect, Value: nil, Delete: false}
}

func (o Op) isCheck() bool { return !o.Delete && o.Value == nil }

// Txn applies ops atomically: either every precondition holds and every write is
// applied, or nothing is written and a *ConflictError names the first failed key.
// It returns the revision of the write.
func (s *Store) Txn(ctx context.Context, ops ...Op) (int64, error) {
	var cmps []clientv3.Cmp
	var writes []clientv3.Op
	for _, o := range ops {
		switch {
		case o.Expect == Absent:
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(o.Key), "=", 0))
		case o.Expect > 0:
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(o.Key), "=", o.Expect))
		}
		switch {
		case o.Delete:
			writes = append(writes, clientv3.OpDelete(o.Key))
		case !o.isCheck():
			writes = append(writes, clientv3.OpPut(o.Key, string(o.Value)))
		}
	}
	var elseOps []clientv3.Op
	for _, o := range ops {
		if o.Expect != Any {
			elseOps = append(elseOps, clientv3.OpGet(o.Key, clientv3.WithKeysOnly()))
		}
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(writes...).Else(elseOps...).Commit()
	if err != nil {
		return 0, fmt.Errorf("transaction: %w", mapErr(err))
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	i := 0
	for _, o := range ops {
		if o.Expect == Any {
			continue
		}
		r := resp.Responses[i].GetResponseRange()
		i++
		exists := r != nil && len(r.Kvs) > 0
		var cur int64
		if exists {
			cur = r.Kvs[0].ModRevision
		}
		if (o.Expect == Absent && exists) || (o.Expect > 0 && cur != o.Expect) {
			return 0, &ConflictError{Key: o.Key, Exists: exists, Revision: cur}
		}
	}
	return 0, &ConflictError{Key: ops[0].Key}
}

// Compact discards history before rev.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if _, err := s.client.Compact(ctx, rev); err != nil && !errors.Is(mapErr(err), ErrCompacted) {
		return fmt.Errorf("compact to %d: %w", rev, err)
	}
	return nil
}

// EventType says what happened to a key.
type EventType int

// Event types.
const (
	Created EventType = iota
	Modified
	Deleted
	// Progress carries only a revision: everything up to it has been delivered.
	Progress
)

// Event is one change seen by a watch. For Deleted, Value is the last value before
// deletion; PrevValue is set for Modified and Deleted.
type Event struct {
	Type      EventType
	Key       string
	Value     []byte
	PrevValue []byte
	Revision  int64
}

// Watch streams the changes under prefix after revision fromRev (exclusive) until ctx
// ends. The channel is closed when the watch ends; a final error (ErrCompacted when
// fromRev is too old) is delivered through errc before closing.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64) (<-chan Event, <-chan error) {
	out := make(chan Event, 100)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		defer close(errc)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		defer cancel()
		wch := s.client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
		for resp := range wch {
			if resp.CompactRevision != 0 {
				errc <- fmt.Errorf("watch %s from %d: %w (compacted to %d)", prefix, fromRev, ErrCompacted, resp.CompactRevision)
				return
			}
			if err := resp.Err(); err != nil {
				errc <- fmt.Errorf("watch %s: %w", prefix, mapErr(err))
				return
			}
			if resp.IsProgressNotify() {
				select {
				case out <- Event{Type: Progress, Revision: resp.Header.Revision}:
				case <-ctx.Done():
					return
				}
				continue
			}
			for _, ev := range resp.Events {
				e := Event{Key: string(ev.Kv.Key), Revision: ev.Kv.ModRevision}
				if ev.PrevKv != nil {
					e.PrevValue = ev.PrevKv.Value
				}
				switch {
				case ev.Type == mvccpb.DELETE:
					e.Type = Deleted
					e.Value = e.PrevValue
				case ev.IsCreate():
					e.Type = Created
					e.Value = ev.Kv.Value
				default:
					e.Type = Modified
					e.Value = ev.Kv.Value
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
		if ctx.Err() == nil {
			errc <- fmt.Errorf("watch %s: closed by etcd", prefix)
		}
	}()
	return out, errc
}

func fromKV(kv *mvccpb.KeyValue) KV {
	return KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision}
}

func mapErr(err error) error {
	if errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, rpctypes.ErrGRPCCompacted) {
		return fmt.Errorf("%w: %v", ErrCompacted, err)
	}
	return err
}
