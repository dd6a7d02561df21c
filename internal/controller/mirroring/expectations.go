package mirroring

import (
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// expectationTTL bounds how long a write's expectation may hold back syncs, in
// case the informer never shows its effect (e.g. the object was changed again by
// someone else before the watch caught up).
const expectationTTL = 30 * time.Second

// expectations remembers, per Endpoints key, the effect this controller's writes
// must have on the informer cache before the next sync may trust it: a created
// slice must appear, an updated one must lose the resourceVersion the update
// replaced, a deleted one must vanish. Without it a sync racing its own writes
// would create duplicate slices or repeat updates that fail with a conflict.
//
// It is safe for concurrent use.
type expectations struct {
	mu    sync.Mutex
	byKey map[string]map[string]expectation // key -> slice name -> expectation
}

type expectation struct {
	kind       expectKind
	replacedRV string
	at         time.Time
}

type expectKind int

const (
	expectPresent expectKind = iota
	expectNewRV
	expectAbsent
)

func newExpectations() *expectations {
	return &expectations{byKey: map[string]map[string]expectation{}}
}

func (e *expectations) expect(key, name string, x expectation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.byKey[key]
	if m == nil {
		m = map[string]expectation{}
		e.byKey[key] = m
	}
	x.at = time.Now()
	m[name] = x
}

func (e *expectations) created(key, name string) {
	e.expect(key, name, expectation{kind: expectPresent})
}

func (e *expectations) updated(key, name, oldRV, newRV string) {
	if oldRV == newRV {
		return
	}
	e.expect(key, name, expectation{kind: expectNewRV, replacedRV: oldRV})
}

func (e *expectations) deleted(key, name string) {
	e.expect(key, name, expectation{kind: expectAbsent})
}

// seenDeleted records that the cache saw a slice go, which fulfils or voids any
// expectation about it.
func (e *expectations) seenDeleted(key, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.byKey[key]; m != nil {
		delete(m, name)
		if len(m) == 0 {
			delete(e.byKey, key)
		}
	}
}

// satisfied reports whether cached (the cache's slices for key) reflects every
// write made for key. Fulfilled and expired expectations are dropped.
func (e *expectations) satisfied(key string, cached []*discoveryv1.EndpointSlice) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.byKey[key]
	if len(m) == 0 {
		return true
	}
	byName := make(map[string]*discoveryv1.EndpointSlice, len(cached))
	for _, s := range cached {
		byName[s.Name] = s
	}
	ok := true
	for name, x := range m {
		s := byName[name]
		var done bool
		switch x.kind {
		case expectPresent:
			done = s != nil
		case expectNewRV:
			done = s == nil || s.ResourceVersion != x.replacedRV
		case expectAbsent:
			done = s == nil
		}
		if done || time.Since(x.at) > expectationTTL {
			delete(m, name)
			continue
		}
		ok = false
	}
	if len(m) == 0 {
		delete(e.byKey, key)
	}
	return ok
}
