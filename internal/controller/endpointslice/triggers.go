package endpointslice

import (
	"sync"
	"time"
)

// triggerTimes remembers, per Service, when the controller first observed a
// change that has not been written yet. The next write of the Service's slices
// carries it in the endpoints.kubernetes.io/last-change-trigger-time annotation,
// from which kube-proxy measures network programming latency.
type triggerTimes struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newTriggerTimes() *triggerTimes {
	return &triggerTimes{m: map[string]time.Time{}}
}

// observe records a change of the Service at t; an earlier pending change wins.
func (t *triggerTimes) observe(key string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.m[key]; !ok || at.Before(prev) {
		t.m[key] = at
	}
}

// take returns and clears the Service's pending change time (zero if none).
func (t *triggerTimes) take(key string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.m[key]
	delete(t.m, key)
	return at
}

// restore puts back a time take returned, after a sync that failed to write.
func (t *triggerTimes) restore(key string, at time.Time) {
	if !at.IsZero() {
		t.observe(key, at)
	}
}

// forget drops the Service's pending change.
func (t *triggerTimes) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}
