package allocator

import (
	"errors"
	"testing"
)

func mustPortRange(t testing.TB, s string) *PortRange {
	t.Helper()
	r, err := ParsePortRange(s)
	if err != nil {
		t.Fatalf("ParsePortRange(%q) = %v", s, err)
	}
	return r
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantString string
		wantBase   int
		wantSize   int
		wantStatic int
		wantErr    bool
	}{
		{name: "default range keeps 86 static", in: "30000-32767", wantString: "30000-32767", wantBase: 30000, wantSize: 2768, wantStatic: 86},
		{name: "plus notation", in: "30000+2767", wantString: "30000-32767", wantBase: 30000, wantSize: 2768, wantStatic: 86},
		{name: "surrounding spaces", in: " 30000-32767 ", wantString: "30000-32767", wantBase: 30000, wantSize: 2768, wantStatic: 86},
		{name: "single port", in: "30000", wantString: "30000-30000", wantBase: 30000, wantSize: 1, wantStatic: 0},
		{name: "16 ports have no split", in: "30000-30015", wantString: "30000-30015", wantBase: 30000, wantSize: 16, wantStatic: 0},
		{name: "17 ports use the floor", in: "30000-30016", wantString: "30000-30016", wantBase: 30000, wantSize: 17, wantStatic: 16},
		{name: "1000 ports", in: "30000-30999", wantString: "30000-30999", wantBase: 30000, wantSize: 1000, wantStatic: 31},
		{name: "whole port space hits the ceiling", in: "1-65535", wantString: "1-65535", wantBase: 1, wantSize: 65535, wantStatic: 128},
		{name: "empty", in: "", wantErr: true},
		{name: "garbage", in: "ports", wantErr: true},
		{name: "reversed", in: "32767-30000", wantErr: true},
		{name: "above 65535", in: "30000-70000", wantErr: true},
		{name: "plus overflows", in: "65000+1000", wantErr: true},
		{name: "port zero", in: "0-100", wantErr: true},
		{name: "open end", in: "30000-", wantErr: true},
		{name: "both notations", in: "30000-+5", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParsePortRange(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePortRange(%q) = %v, nil; want an error", tt.in, r)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePortRange(%q) = %v; want no error", tt.in, err)
			}
			if got := r.String(); got != tt.wantString {
				t.Errorf("String() = %q; want %q", got, tt.wantString)
			}
			if got := r.Base(); got != tt.wantBase {
				t.Errorf("Base() = %d; want %d", got, tt.wantBase)
			}
			if got := r.Size(); got != tt.wantSize {
				t.Errorf("Size() = %d; want %d", got, tt.wantSize)
			}
			if got := r.StaticSize(); got != tt.wantStatic {
				t.Errorf("StaticSize() = %d; want %d", got, tt.wantStatic)
			}
		})
	}
}

func TestPortRangeCheckRequested(t *testing.T) {
	tests := []struct {
		name    string
		rng     string
		port    int
		wantErr string
	}{
		{name: "first", rng: "30000-32767", port: 30000},
		{name: "last", rng: "30000-32767", port: 32767},
		{name: "static band", rng: "30000-32767", port: 30085},
		{name: "below", rng: "30000-32767", port: 80,
			wantErr: "provided port is not in the valid range. The range of valid ports is 30000-32767"},
		{name: "just above", rng: "30000-32767", port: 32768,
			wantErr: "provided port is not in the valid range. The range of valid ports is 30000-32767"},
		{name: "plus notation shown as min-max", rng: "20000+99", port: 20100,
			wantErr: "provided port is not in the valid range. The range of valid ports is 20000-20099"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustPortRange(t, tt.rng)
			err := r.CheckRequested(tt.port)
			if tt.wantErr == "" {
				if err != nil || !r.Contains(tt.port) {
					t.Fatalf("CheckRequested(%d) = %v, Contains = %t; want nil, true", tt.port, err, r.Contains(tt.port))
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("CheckRequested(%d) = %v; want %q", tt.port, err, tt.wantErr)
			}
			var nir *PortNotInRangeError
			if !errors.As(err, &nir) || nir.Port != tt.port {
				t.Errorf("CheckRequested(%d) = %#v; want a *PortNotInRangeError for that port", tt.port, err)
			}
			if r.Contains(tt.port) {
				t.Errorf("Contains(%d) = true; want false", tt.port)
			}
		})
	}
}

func TestPortRangePickBandsAndFull(t *testing.T) {
	tests := []struct {
		name       string
		rng        string
		wantStatic int
	}{
		{name: "default range", rng: "30000-32767", wantStatic: 86},
		{name: "100 ports", rng: "30000-30099", wantStatic: 16},
		{name: "16 ports no split", rng: "30000-30015", wantStatic: 0},
		{name: "single port", rng: "31000", wantStatic: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustPortRange(t, tt.rng)
			if got := r.StaticSize(); got != tt.wantStatic {
				t.Fatalf("StaticSize() = %d; want %d", got, tt.wantStatic)
			}
			firstDynamic := r.Base() + r.StaticSize()
			rnd := newRand(11)
			used := NewUsed[int]()
			inUse := func(p int) bool {
				if !r.Contains(p) {
					t.Errorf("Pick asked inUse(%d), outside %s", p, r)
				}
				return used.Has(p)
			}
			for i := range r.Size() {
				got, err := r.Pick(rnd, inUse)
				if err != nil {
					t.Fatalf("Pick #%d = %v; want a port", i+1, err)
				}
				if !used.Add(got) {
					t.Fatalf("Pick #%d = %d; already picked", i+1, got)
				}
				inStatic := got < firstDynamic
				if wantStatic := i >= r.Size()-r.StaticSize(); inStatic != wantStatic {
					t.Fatalf("Pick #%d = %d: in static band %t; want %t (dynamic band starts at %d)", i+1, got, inStatic, wantStatic, firstDynamic)
				}
			}
			if got, err := r.Pick(rnd, inUse); !errors.Is(err, ErrFull) {
				t.Fatalf("Pick on a full range = %d, %v; want ErrFull", got, err)
			}
		})
	}
}
