package allocator

import (
	"cmp"
	"net/netip"
	"slices"
)

// RepairPlan is what PlanRepair finds wrong between the allocation records and the
// values Services hold.
type RepairPlan[T comparable] struct {
	// Free lists records that no Service holds: delete them.
	Free []T
	// Restore lists values that Services hold, inside the range, without a record:
	// write a record for each.
	Restore []T
	// Duplicates lists values held by more than one owner. They are for reporting
	// (kube-apiserver raises an event); which owner keeps the value is not this
	// package's decision.
	Duplicates []Holding[T]
	// OutOfRange lists held values that the range cannot allocate, typically after
	// the range was changed. They are reported, never restored; a record that already
	// exists for one is kept, since a Service still holds the value.
	OutOfRange []Holding[T]
}

// Holding is a value together with the keys of the objects holding it.
type Holding[T comparable] struct {
	Value T
	// Owners is sorted and free of repeats.
	Owners []string
}

// Empty reports whether the plan asks for no change and reports nothing.
func (p RepairPlan[T]) Empty() bool {
	return len(p.Free) == 0 && len(p.Restore) == 0 && len(p.Duplicates) == 0 && len(p.OutOfRange) == 0
}

// PlanRepair compares the values stored as allocated (records) with the values
// Services actually hold (held maps each value to the keys of its holders, such as
// "namespace/name"; a value with no owners counts as not held) and returns what to
// change. inRange tells whether a value is allocatable in the current range; nil
// means every value is.
//
// The owners of a value are de-duplicated before counting, so one Service using the
// same node port for TCP and UDP is not a duplicate. Repeated records count once.
//
// records and held must come from one consistent snapshot (for etcd, reads at the
// same revision); otherwise a value allocated between the two reads would look
// leaked and be freed. Values are returned in ascending order when T is int, string
// or netip.Addr; for other types the order of Restore and of the holdings is
// unspecified and Free keeps the order of records.
func PlanRepair[T comparable](records []T, held map[T][]string, inRange func(T) bool) RepairPlan[T] {
	var plan RepairPlan[T]
	recorded := make(map[T]bool, len(records))
	for _, v := range records {
		if recorded[v] {
			continue
		}
		recorded[v] = true
		if len(held[v]) == 0 {
			plan.Free = append(plan.Free, v)
		}
	}
	for v, owners := range held {
		if len(owners) == 0 {
			continue
		}
		owners = slices.Compact(slices.Sorted(slices.Values(owners)))
		if len(owners) > 1 {
			plan.Duplicates = append(plan.Duplicates, Holding[T]{Value: v, Owners: owners})
		}
		if inRange != nil && !inRange(v) {
			plan.OutOfRange = append(plan.OutOfRange, Holding[T]{Value: v, Owners: owners})
			continue
		}
		if !recorded[v] {
			plan.Restore = append(plan.Restore, v)
		}
	}

	slices.SortStableFunc(plan.Free, compareValues[T])
	slices.SortStableFunc(plan.Restore, compareValues[T])
	byValue := func(a, b Holding[T]) int { return compareValues(a.Value, b.Value) }
	slices.SortStableFunc(plan.Duplicates, byValue)
	slices.SortStableFunc(plan.OutOfRange, byValue)
	return plan
}

// compareValues orders the value types allocators use; other types compare equal.
func compareValues[T comparable](a, b T) int {
	switch a := any(a).(type) {
	case int:
		return cmp.Compare(a, any(b).(int))
	case string:
		return cmp.Compare(a, any(b).(string))
	case netip.Addr:
		return a.Compare(any(b).(netip.Addr))
	}
	return 0
}
