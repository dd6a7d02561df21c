package allocator

import "sync"

// Used is a set of allocated values (IPs or ports), kept in memory by a caller that
// follows the allocation records through a watch, and consulted by Pick via Has.
//
// The zero value is an empty set ready to use. A Used is safe for concurrent use and
// must not be copied after first use.
type Used[T comparable] struct {
	mu     sync.RWMutex
	values map[T]struct{}
}

// NewUsed returns a set holding values.
func NewUsed[T comparable](values ...T) *Used[T] {
	u := &Used[T]{}
	u.Replace(values)
	return u
}

// Add inserts v and reports whether it was absent.
func (u *Used[T]) Add(v T) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.values[v]; ok {
		return false
	}
	if u.values == nil {
		u.values = make(map[T]struct{})
	}
	u.values[v] = struct{}{}
	return true
}

// Remove deletes v and reports whether it was present.
func (u *Used[T]) Remove(v T) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.values[v]; !ok {
		return false
	}
	delete(u.values, v)
	return true
}

// Has reports whether v is in the set. Its signature fits Pick's inUse argument.
func (u *Used[T]) Has(v T) bool {
	u.mu.RLock()
	defer u.mu.RUnlock()
	_, ok := u.values[v]
	return ok
}

// Len returns the number of values in the set.
func (u *Used[T]) Len() int {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return len(u.values)
}

// Replace makes the set hold exactly values, as after a fresh list of the records.
// The caller keeps ownership of the slice.
func (u *Used[T]) Replace(values []T) {
	m := make(map[T]struct{}, len(values))
	for _, v := range values {
		m[v] = struct{}{}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.values = m
}

// Values returns the values in the set, in no particular order, as a new slice.
func (u *Used[T]) Values() []T {
	u.mu.RLock()
	defer u.mu.RUnlock()
	out := make([]T, 0, len(u.values))
	for v := range u.values {
		out = append(out, v)
	}
	return out
}
