package allocator

import (
	"net/netip"
	"testing"
)

func TestRangeOffset(t *testing.T) {
	tests := []struct {
		name                       string
		size, floor, step, ceiling int
		want                       int
	}{
		{name: "at floor no split", size: 16, floor: 16, step: 16, ceiling: 256, want: 0},
		{name: "just above floor", size: 17, floor: 16, step: 16, ceiling: 256, want: 16},
		{name: "graduated", size: 1024, floor: 16, step: 16, ceiling: 256, want: 64},
		{name: "ceiling", size: 1 << 20, floor: 16, step: 16, ceiling: 256, want: 256},
		{name: "ports default", size: 2768, floor: 16, step: 32, ceiling: 128, want: 86},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rangeOffset(tt.size, tt.floor, tt.step, tt.ceiling); got != tt.want {
				t.Errorf("rangeOffset(%d, %d, %d, %d) = %d; want %d", tt.size, tt.floor, tt.step, tt.ceiling, got, tt.want)
			}
		})
	}
}

func TestPickNilRand(t *testing.T) {
	r := mustPortRange(t, "30000-30099")
	got, err := r.Pick(nil, func(int) bool { return false })
	if err != nil || got < 30016 || got > 30099 {
		t.Fatalf("Pick(nil, none used) = %d, %v; want a port in 30016-30099", got, err)
	}
}

func BenchmarkIPRangePick(b *testing.B) {
	r := mustIPRange(b, "10.96.0.0/12")
	rnd := newRand(5)
	used := NewUsed[netip.Addr]()
	for used.Len() < 10000 {
		ip, err := r.Pick(rnd, used.Has)
		if err != nil {
			b.Fatal(err)
		}
		used.Add(ip)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Pick(rnd, used.Has); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPortRangePick(b *testing.B) {
	r := mustPortRange(b, "30000-32767")
	for _, bc := range []struct {
		name string
		free int
	}{
		{name: "last free in dynamic band", free: 32000},
		{name: "last free in static band", free: 30010},
	} {
		b.Run(bc.name, func(b *testing.B) {
			used := NewUsed[int]()
			for p := r.Base(); p < r.Base()+r.Size(); p++ {
				if p != bc.free {
					used.Add(p)
				}
			}
			rnd := newRand(9)
			b.ReportAllocs()
			for b.Loop() {
				if p, err := r.Pick(rnd, used.Has); err != nil || p != bc.free {
					b.Fatalf("Pick = %d, %v; want %d", p, err, bc.free)
				}
			}
		})
	}
}
