package endpoints

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// staleTracker remembers, per key, what the informer cache must show before the
// next sync may trust it: a created object must be present, and an updated one
// must no longer carry the resourceVersion the update replaced. Without it a sync
// racing its own previous write would repeat the write and fail with a conflict.
type staleTracker struct {
	mu    sync.Mutex
	marks map[string]staleMark
}

type staleMark struct {
	created    bool   // the object must exist
	replacedRV string // the object must not carry this resourceVersion
}

func newStaleTracker() *staleTracker {
	return &staleTracker{marks: map[string]staleMark{}}
}

func (t *staleTracker) created(key string) {
	t.mu.Lock()
	t.marks[key] = staleMark{created: true}
	t.mu.Unlock()
}

func (t *staleTracker) updated(key, oldRV, newRV string) {
	if oldRV == newRV {
		return // the server found nothing to change
	}
	t.mu.Lock()
	t.marks[key] = staleMark{replacedRV: oldRV}
	t.mu.Unlock()
}

func (t *staleTracker) clear(key string) {
	t.mu.Lock()
	delete(t.marks, key)
	t.mu.Unlock()
}

// isStale reports whether cur (nil when absent from the cache) predates this
// controller's last write for key. Marks that are satisfied are dropped.
func (t *staleTracker) isStale(key string, cur *corev1.Endpoints) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.marks[key]
	if !ok {
		return false
	}
	if (m.created && cur == nil) || (m.replacedRV != "" && cur != nil && cur.ResourceVersion == m.replacedRV) {
		return true
	}
	delete(t.marks, key)
	return false
}
