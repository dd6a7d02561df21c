package endpointslice

import (
	"strconv"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// expectations remembers the controller's own slice writes until the informer
// cache has caught up with them. It answers two questions:
//
//  1. Is the cache too old to sync a Service from (stale)? It is while it holds a
//     slice older than one we wrote, lacks a slice we created or updated, or
//     still holds one we deleted. Writing from such a cache would repeat or undo
//     our own writes.
//  2. Does a slice event only report our own write (ownWrite)? Then it needs no
//     sync.
//
// Versions are compared by resourceVersion, which svcnet's server and
// kube-apiserver both derive from the etcd revision (so later writes have larger
// numbers); when a resourceVersion is not a number, metadata.generation is used
// instead. Entries live until the slice's deletion is observed or the Service is
// forgotten: one small entry per slice.
type expectations struct {
	mu    sync.Mutex
	bySvc map[string]map[string]expectation // service key -> slice name
	// waiting holds the Services whose sync found the cache stale: the next
	// event of one of their slices, even our own write, queues them again.
	waiting map[string]bool
}

// expectation is what the cache should show of one slice.
type expectation struct {
	rvText     string
	rv         uint64 // 0 when rvText is not a number
	generation int64
	deleted    bool
}

func newExpectations() *expectations {
	return &expectations{bySvc: map[string]map[string]expectation{}, waiting: map[string]bool{}}
}

func expectationOf(s *discoveryv1.EndpointSlice) expectation {
	rv, _ := strconv.ParseUint(s.ResourceVersion, 10, 64)
	return expectation{rvText: s.ResourceVersion, rv: rv, generation: s.Generation}
}

// older reports whether a cached slice is older than what we wrote.
func (e expectation) older(s *discoveryv1.EndpointSlice) bool {
	got := expectationOf(s)
	if e.rv != 0 && got.rv != 0 {
		return got.rv < e.rv
	}
	return got.generation < e.generation
}

// wrote records a slice returned by a create or update.
func (x *expectations) wrote(svcKey string, s *discoveryv1.EndpointSlice) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.bySvc[svcKey]
	if m == nil {
		m = map[string]expectation{}
		x.bySvc[svcKey] = m
	}
	m[s.Name] = expectationOf(s)
}

// deleted records a slice the controller deleted.
func (x *expectations) deleted(svcKey, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.bySvc[svcKey]
	if m == nil {
		m = map[string]expectation{}
		x.bySvc[svcKey] = m
	}
	m[name] = expectation{deleted: true}
}

// stale reports whether cached, the slices the cache holds for a Service, is
// behind the controller's own writes.
func (x *expectations) stale(svcKey string, cached []*discoveryv1.EndpointSlice) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.bySvc[svcKey]
	if len(m) == 0 {
		return false
	}
	present := 0
	for _, s := range cached {
		e, ok := m[s.Name]
		if !ok {
			continue
		}
		if e.deleted || e.older(s) {
			return true
		}
		present++
	}
	// Every slice we created or updated must be in the cache.
	for _, e := range m {
		if !e.deleted {
			present--
		}
	}
	return present < 0
}

// ownWrite reports whether a slice add or update event shows nothing newer than
// the controller's own last write of the slice.
func (x *expectations) ownWrite(svcKey string, s *discoveryv1.EndpointSlice) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.bySvc[svcKey][s.Name]
	if !ok {
		return false
	}
	if e.deleted {
		// An update that overtook our delete's event; the delete follows.
		return true
	}
	got := expectationOf(s)
	if e.rv != 0 && got.rv != 0 {
		return got.rv <= e.rv
	}
	return got.rvText == e.rvText
}

// observeDeleted forgets a slice whose deletion the cache reported, and reports
// whether the controller had deleted it itself.
func (x *expectations) observeDeleted(svcKey, name string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := x.bySvc[svcKey]
	e, ok := m[name]
	delete(m, name)
	if len(m) == 0 {
		delete(x.bySvc, svcKey)
	}
	return ok && e.deleted
}

// forgetSlice drops what is remembered of one slice.
func (x *expectations) forgetSlice(svcKey, name string) {
	x.observeDeleted(svcKey, name)
}

// wait marks a Service as waiting for its slices' cache to catch up.
func (x *expectations) wait(svcKey string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.waiting[svcKey] = true
}

// resume clears a Service's waiting mark and reports whether it was set.
func (x *expectations) resume(svcKey string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	w := x.waiting[svcKey]
	delete(x.waiting, svcKey)
	return w
}

// forget drops everything remembered for a Service.
func (x *expectations) forget(svcKey string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.bySvc, svcKey)
	delete(x.waiting, svcKey)
}
