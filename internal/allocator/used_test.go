package allocator

import (
	"slices"
	"sync"
	"testing"
)

func TestUsed(t *testing.T) {
	var u Used[int] // the zero value is ready to use
	steps := []struct {
		name    string
		op      func() bool
		want    bool
		wantLen int
	}{
		{name: "has on empty", op: func() bool { return u.Has(1) }, want: false, wantLen: 0},
		{name: "remove on empty", op: func() bool { return u.Remove(1) }, want: false, wantLen: 0},
		{name: "add new", op: func() bool { return u.Add(1) }, want: true, wantLen: 1},
		{name: "add again", op: func() bool { return u.Add(1) }, want: false, wantLen: 1},
		{name: "has added", op: func() bool { return u.Has(1) }, want: true, wantLen: 1},
		{name: "add second", op: func() bool { return u.Add(2) }, want: true, wantLen: 2},
		{name: "remove present", op: func() bool { return u.Remove(1) }, want: true, wantLen: 1},
		{name: "has removed", op: func() bool { return u.Has(1) }, want: false, wantLen: 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if got := s.op(); got != s.want {
				t.Errorf("got %t; want %t", got, s.want)
			}
			if got := u.Len(); got != s.wantLen {
				t.Errorf("Len() = %d; want %d", got, s.wantLen)
			}
		})
	}
}

func TestUsedReplaceAndValues(t *testing.T) {
	tests := []struct {
		name    string
		initial []int
		replace []int
		want    []int
	}{
		{name: "replace everything", initial: []int{1, 2}, replace: []int{3, 4}, want: []int{3, 4}},
		{name: "repeats collapse", initial: nil, replace: []int{5, 5, 6}, want: []int{5, 6}},
		{name: "clear", initial: []int{1}, replace: nil, want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewUsed(tt.initial...)
			u.Replace(tt.replace)
			got := u.Values()
			slices.Sort(got)
			if !slices.Equal(got, tt.want) || u.Len() != len(tt.want) {
				t.Errorf("Values() = %v, Len() = %d; want %v", got, u.Len(), tt.want)
			}
		})
	}
}

func TestUsedConcurrent(t *testing.T) {
	u := NewUsed[int]()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				v := w*1000 + i
				u.Add(v)
				u.Has(v - 1)
				if i%2 == 1 {
					u.Remove(v)
				}
			}
		})
	}
	wg.Wait()
	if got, want := u.Len(), 8*500; got != want {
		t.Errorf("Len() = %d; want %d", got, want)
	}
}
