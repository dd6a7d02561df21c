package allocator

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Address conventions: IPv4 service CIDRs come from 10.0.0.0/8 (10.96.0.0/12 as
// kubeadm's default), IPv6 ones from fd00::/8. Nothing here touches the network.

func mustIPRange(t testing.TB, cidr string) *IPRange {
	t.Helper()
	r, err := ParseIPRange(cidr)
	if err != nil {
		t.Fatalf("ParseIPRange(%q) = %v", cidr, err)
	}
	return r
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x5eed))
}

func TestParseIPRange(t *testing.T) {
	tests := []struct {
		name       string
		cidr       string
		wantCIDR   string
		wantFamily corev1.IPFamily
		wantSize   int
		wantStatic int
		wantErr    bool
	}{
		{name: "kubeadm default /12", cidr: "10.96.0.0/12", wantCIDR: "10.96.0.0/12", wantFamily: corev1.IPv4Protocol, wantSize: 1<<20 - 2, wantStatic: 256},
		{name: "apiserver default /24", cidr: "10.0.0.0/24", wantCIDR: "10.0.0.0/24", wantFamily: corev1.IPv4Protocol, wantSize: 254, wantStatic: 16},
		{name: "/22 keeps first 64 static", cidr: "10.0.0.0/22", wantCIDR: "10.0.0.0/22", wantFamily: corev1.IPv4Protocol, wantSize: 1022, wantStatic: 64},
		{name: "/16 hits the 256 ceiling", cidr: "172.30.0.0/16", wantCIDR: "172.30.0.0/16", wantFamily: corev1.IPv4Protocol, wantSize: 65534, wantStatic: 256},
		{name: "/27 uses the floor of 16", cidr: "10.0.0.0/27", wantCIDR: "10.0.0.0/27", wantFamily: corev1.IPv4Protocol, wantSize: 30, wantStatic: 16},
		{name: "/28 has no split", cidr: "10.0.0.0/28", wantCIDR: "10.0.0.0/28", wantFamily: corev1.IPv4Protocol, wantSize: 14, wantStatic: 0},
		{name: "/30 is the smallest IPv4 range", cidr: "10.0.0.0/30", wantCIDR: "10.0.0.0/30", wantFamily: corev1.IPv4Protocol, wantSize: 2, wantStatic: 0},
		{name: "host bits are cleared", cidr: "10.96.7.5/12", wantCIDR: "10.96.0.0/12", wantFamily: corev1.IPv4Protocol, wantSize: 1<<20 - 2, wantStatic: 256},
		{name: "IPv6 /112", cidr: "fd00:10:96::/112", wantCIDR: "fd00:10:96::/112", wantFamily: corev1.IPv6Protocol, wantSize: 65535, wantStatic: 256},
		{name: "IPv6 /64 is capped", cidr: "fd00::/64", wantCIDR: "fd00::/64", wantFamily: corev1.IPv6Protocol, wantSize: 65535, wantStatic: 256},
		{name: "IPv6 /8 is capped", cidr: "fd00::/8", wantCIDR: "fd00::/8", wantFamily: corev1.IPv6Protocol, wantSize: 65535, wantStatic: 256},
		{name: "IPv6 /120", cidr: "fd00::/120", wantCIDR: "fd00::/120", wantFamily: corev1.IPv6Protocol, wantSize: 255, wantStatic: 16},
		{name: "IPv6 /124 has no split", cidr: "fd00::/124", wantCIDR: "fd00::/124", wantFamily: corev1.IPv6Protocol, wantSize: 15, wantStatic: 0},
		{name: "IPv6 /126 keeps its last address", cidr: "fd00::/126", wantCIDR: "fd00::/126", wantFamily: corev1.IPv6Protocol, wantSize: 3, wantStatic: 0},
		{name: "empty", cidr: "", wantErr: true},
		{name: "garbage", cidr: "not-a-cidr", wantErr: true},
		{name: "address without mask", cidr: "10.96.0.0", wantErr: true},
		{name: "mask too long", cidr: "10.96.0.0/33", wantErr: true},
		{name: "leading zeros", cidr: "010.96.0.0/12", wantErr: true},
		{name: "IPv4 /31 too small", cidr: "10.0.0.0/31", wantErr: true},
		{name: "IPv4 /32 too small", cidr: "10.0.0.1/32", wantErr: true},
		{name: "IPv6 /127 too small", cidr: "fd00::/127", wantErr: true},
		{name: "IPv6 /128 too small", cidr: "fd00::1/128", wantErr: true},
		{name: "IPv4-mapped IPv6", cidr: "::ffff:10.0.0.0/104", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseIPRange(tt.cidr)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseIPRange(%q) = %v, nil; want an error", tt.cidr, r)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIPRange(%q) = %v; want no error", tt.cidr, err)
			}
			if got := r.CIDR().String(); got != tt.wantCIDR {
				t.Errorf("CIDR() = %s; want %s", got, tt.wantCIDR)
			}
			if got := r.String(); got != tt.wantCIDR {
				t.Errorf("String() = %s; want %s", got, tt.wantCIDR)
			}
			if got := r.Family(); got != tt.wantFamily {
				t.Errorf("Family() = %s; want %s", got, tt.wantFamily)
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

func TestParseIPRanges(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string // CIDRs, primary first
		wantErr string   // substring of the error
	}{
		{name: "single IPv4", value: "10.96.0.0/12", want: []string{"10.96.0.0/12"}},
		{name: "single IPv6", value: "fd00:10:96::/112", want: []string{"fd00:10:96::/112"}},
		{name: "dual, IPv4 primary", value: "10.96.0.0/12,fd00:10:96::/112", want: []string{"10.96.0.0/12", "fd00:10:96::/112"}},
		{name: "dual, IPv6 primary, blanks", value: "fd00:10:96::/112, 10.96.0.0/12", want: []string{"fd00:10:96::/112", "10.96.0.0/12"}},
		{name: "two IPv4", value: "10.96.0.0/12,10.200.0.0/16", wantErr: "are both IPv4"},
		{name: "two IPv6", value: "fd00::/112,fd01::/112", wantErr: "are both IPv6"},
		{name: "three", value: "10.96.0.0/12,fd00::/112,10.200.0.0/16", wantErr: "at most two"},
		{name: "empty second", value: "10.96.0.0/12,", wantErr: "parse service CIDR"},
		{name: "bad second", value: "10.96.0.0/12,fd00::/127", wantErr: "too small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPRanges(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseIPRanges(%q) = %v, %v; want an error containing %q", tt.value, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIPRanges(%q) = %v", tt.value, err)
			}
			var cidrs []string
			for _, r := range got {
				cidrs = append(cidrs, r.String())
			}
			if !slices.Equal(cidrs, tt.want) {
				t.Errorf("ParseIPRanges(%q) = %v; want %v", tt.value, cidrs, tt.want)
			}
		})
	}
}

func TestIPRangeNth(t *testing.T) {
	tests := []struct {
		name   string
		cidr   string
		n      int
		want   string // empty: not ok
		wantOK bool
	}{
		{name: "first address is kubernetes service", cidr: "10.96.0.0/12", n: 1, want: "10.96.0.1", wantOK: true},
		{name: "tenth address is kube-dns", cidr: "10.96.0.0/12", n: 10, want: "10.96.0.10", wantOK: true},
		{name: "crosses an octet", cidr: "10.96.0.0/12", n: 256, want: "10.96.1.0", wantOK: true},
		{name: "last before broadcast", cidr: "10.96.0.0/12", n: 1<<20 - 2, want: "10.111.255.254", wantOK: true},
		{name: "broadcast is not an entry", cidr: "10.96.0.0/12", n: 1<<20 - 1},
		{name: "zero", cidr: "10.96.0.0/12", n: 0},
		{name: "negative", cidr: "10.96.0.0/12", n: -1},
		{name: "last of /28", cidr: "10.0.0.0/28", n: 14, want: "10.0.0.14", wantOK: true},
		{name: "IPv6 first", cidr: "fd00:10:96::/112", n: 1, want: "fd00:10:96::1", wantOK: true},
		{name: "IPv6 kube-dns", cidr: "fd00:10:96::/112", n: 10, want: "fd00:10:96::a", wantOK: true},
		{name: "IPv6 /112 last", cidr: "fd00:10:96::/112", n: 65535, want: "fd00:10:96::ffff", wantOK: true},
		{name: "IPv6 beyond cap", cidr: "fd00::/64", n: 65536},
		{name: "IPv6 /48 stays in the first /64", cidr: "fd00:1:2::/48", n: 65535, want: "fd00:1:2::ffff", wantOK: true},
		{name: "IPv6 /64 high half kept", cidr: "fd00:0:0:7::/64", n: 2, want: "fd00:0:0:7::2", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, tt.cidr)
			got, ok := r.Nth(tt.n)
			if ok != tt.wantOK {
				t.Fatalf("%s Nth(%d) = %v, %t; want ok %t", tt.cidr, tt.n, got, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.String() != tt.want {
				t.Errorf("%s Nth(%d) = %s; want %s", tt.cidr, tt.n, got, tt.want)
			}
			if !r.Contains(got) {
				t.Errorf("%s Contains(Nth(%d) = %s) = false; want true", tt.cidr, tt.n, got)
			}
		})
	}
}

func TestIPRangeContains(t *testing.T) {
	tests := []struct {
		name string
		cidr string
		ip   netip.Addr
		want bool
	}{
		{name: "network address", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.96.0.0"), want: false},
		{name: "broadcast address", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.111.255.255"), want: false},
		{name: "first", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.96.0.1"), want: true},
		{name: "last", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.111.255.254"), want: true},
		{name: "x.x.x.0 inside", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.100.0.0"), want: true},
		{name: "just past", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.112.0.0"), want: false},
		{name: "just before", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.95.255.255"), want: false},
		{name: "IPv4-mapped form", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("::ffff:10.96.0.1"), want: false},
		{name: "IPv6 in IPv4 range", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("fd00::1"), want: false},
		{name: "zero Addr", cidr: "10.96.0.0/12", ip: netip.Addr{}, want: false},
		{name: "IPv6 network", cidr: "fd00::/112", ip: netip.MustParseAddr("fd00::"), want: false},
		{name: "IPv6 last is usable", cidr: "fd00::/112", ip: netip.MustParseAddr("fd00::ffff"), want: true},
		{name: "IPv6 zoned", cidr: "fd00::/112", ip: netip.MustParseAddr("fd00::1%eth0"), want: false},
		{name: "IPv6 beyond cap in /64", cidr: "fd00::/64", ip: netip.MustParseAddr("fd00::1:0"), want: false},
		{name: "IPv6 /48 other /64", cidr: "fd00::/48", ip: netip.MustParseAddr("fd00:0:0:1::1"), want: false},
		{name: "IPv4 in IPv6 range", cidr: "fd00::/112", ip: netip.MustParseAddr("10.0.0.1"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, tt.cidr)
			if got := r.Contains(tt.ip); got != tt.want {
				t.Errorf("%s Contains(%s) = %t; want %t", tt.cidr, tt.ip, got, tt.want)
			}
		})
	}
}

func TestIPRangeCheckRequested(t *testing.T) {
	tests := []struct {
		name    string
		cidr    string
		ip      netip.Addr
		wantErr string // empty: no error
	}{
		{name: "in range", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.96.0.10")},
		{name: "outside", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("1.1.1.1"),
			wantErr: "the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "network address", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("10.96.0.0"),
			wantErr: "the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "broadcast address", cidr: "10.0.0.0/24", ip: netip.MustParseAddr("10.0.0.255"),
			wantErr: "the provided IP (10.0.0.255) is not in the valid range. The range of valid IPs is 10.0.0.0/24"},
		{name: "wrong family", cidr: "10.96.0.0/12", ip: netip.MustParseAddr("fd00::1"),
			wantErr: "the provided IP (fd00::1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
		{name: "IPv6 in range", cidr: "fd00:10:96::/112", ip: netip.MustParseAddr("fd00:10:96::a")},
		{name: "IPv6 outside", cidr: "fd00:10:96::/112", ip: netip.MustParseAddr("fd00:10:97::a"),
			wantErr: "the provided IP (fd00:10:97::a) is not in the valid range. The range of valid IPs is fd00:10:96::/112"},
		{name: "CIDR shown canonical", cidr: "10.96.3.4/12", ip: netip.MustParseAddr("192.168.0.1"),
			wantErr: "the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, tt.cidr)
			err := r.CheckRequested(tt.ip)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckRequested(%s) = %v; want nil", tt.ip, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("CheckRequested(%s) = %v; want %q", tt.ip, err, tt.wantErr)
			}
			var nir *IPNotInRangeError
			if !errors.As(err, &nir) || nir.IP != tt.ip {
				t.Errorf("CheckRequested(%s) = %#v; want an *IPNotInRangeError for that IP", tt.ip, err)
			}
		})
	}
}

func TestSentinelMessages(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "full", err: ErrFull, want: "range is full"},
		{name: "IP allocated", err: ErrIPAllocated, want: "provided IP is already allocated"},
		{name: "port allocated", err: ErrPortAllocated, want: "provided port is already allocated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestIPRangePickSkipsReservedAndUsed(t *testing.T) {
	tests := []struct {
		name string
		cidr string
		used []string
	}{
		{name: "/29 partly used", cidr: "10.0.0.0/29", used: []string{"10.0.0.1", "10.0.0.3", "10.0.0.6"}},
		{name: "/30 one left", cidr: "10.0.0.0/30", used: []string{"10.0.0.1"}},
		{name: "/24 nearly full dynamic band", cidr: "10.0.0.0/24", used: []string{"10.0.0.100", "10.0.0.200"}},
		{name: "IPv6 /125", cidr: "fd00::/125", used: []string{"fd00::1", "fd00::7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, tt.cidr)
			used := NewUsed[netip.Addr]()
			for _, s := range tt.used {
				used.Add(netip.MustParseAddr(s))
			}
			inUse := func(ip netip.Addr) bool {
				if !r.Contains(ip) {
					t.Errorf("Pick asked inUse(%s), which the range cannot allocate", ip)
				}
				return used.Has(ip)
			}
			for seed := range uint64(200) {
				got, err := r.Pick(newRand(seed), inUse)
				if err != nil {
					t.Fatalf("seed %d: Pick = %v; want an address", seed, err)
				}
				if !r.Contains(got) || used.Has(got) {
					t.Fatalf("seed %d: Pick = %s; want a free allocatable address of %s (used %v)", seed, got, tt.cidr, tt.used)
				}
			}
		})
	}
}

func TestIPRangePickDrains(t *testing.T) {
	tests := []struct {
		name string
		cidr string
	}{
		{name: "/28 without bands", cidr: "10.0.0.0/28"},
		{name: "/27 with bands", cidr: "10.0.0.0/27"},
		{name: "/24", cidr: "10.0.0.0/24"},
		{name: "IPv6 /120", cidr: "fd00::/120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, tt.cidr)
			rnd := newRand(1)
			used := NewUsed[netip.Addr]()
			for i := range r.Size() {
				got, err := r.Pick(rnd, used.Has)
				if err != nil {
					t.Fatalf("Pick #%d = %v; want an address (%d of %d used)", i+1, err, used.Len(), r.Size())
				}
				if !r.Contains(got) {
					t.Fatalf("Pick #%d = %s; not allocatable in %s", i+1, got, tt.cidr)
				}
				if !used.Add(got) {
					t.Fatalf("Pick #%d = %s; already picked", i+1, got)
				}
			}
			got, err := r.Pick(rnd, used.Has)
			if !errors.Is(err, ErrFull) {
				t.Fatalf("Pick on a full range = %v, %v; want ErrFull", got, err)
			}
		})
	}
}

func TestIPRangePickDynamicBandFirst(t *testing.T) {
	tests := []struct {
		name       string
		cidr       string
		wantStatic int
	}{
		{name: "/27", cidr: "10.0.0.0/27", wantStatic: 16},
		{name: "/24", cidr: "10.0.0.0/24", wantStatic: 16},
		{name: "/22", cidr: "10.0.0.0/22", wantStatic: 64},
		{name: "IPv6 /120", cidr: "fd00::/120", wantStatic: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, tt.cidr)
			if got := r.StaticSize(); got != tt.wantStatic {
				t.Fatalf("StaticSize() = %d; want %d", got, tt.wantStatic)
			}
			lastStatic, _ := r.Nth(r.StaticSize())
			rnd := newRand(7)
			used := NewUsed[netip.Addr]()
			for i := range r.Size() {
				got, err := r.Pick(rnd, used.Has)
				if err != nil {
					t.Fatalf("Pick #%d = %v; want an address", i+1, err)
				}
				used.Add(got)
				inStatic := got.Compare(lastStatic) <= 0
				if wantStatic := i >= r.Size()-r.StaticSize(); inStatic != wantStatic {
					t.Fatalf("Pick #%d = %s: in static band %t; want %t (static band ends at %s)", i+1, got, inStatic, wantStatic, lastStatic)
				}
			}
		})
	}
}

func TestIPRangePickDeterministic(t *testing.T) {
	r := mustIPRange(t, "10.96.0.0/12")
	never := func(netip.Addr) bool { return false }
	a, errA := r.Pick(newRand(42), never)
	b, errB := r.Pick(newRand(42), never)
	if errA != nil || errB != nil || a != b {
		t.Fatalf("Pick with equal seeds = (%s, %v) and (%s, %v); want the same address twice", a, errA, b, errB)
	}
	first, _ := r.Nth(r.StaticSize())
	if a.Compare(first) <= 0 {
		t.Errorf("Pick on an empty /12 = %s; want an address above the static band (ends at %s)", a, first)
	}
}

func TestIPRangePickLastFreeInHugeRange(t *testing.T) {
	r := mustIPRange(t, "10.96.0.0/12")
	// The only free address sits in the static band: the whole dynamic band is
	// scanned first, then the static band.
	want, _ := r.Nth(100)
	calls := 0
	inUse := func(ip netip.Addr) bool {
		calls++
		return ip != want
	}
	got, err := r.Pick(newRand(3), inUse)
	if err != nil || got != want {
		t.Fatalf("Pick = %s, %v; want %s", got, err, want)
	}
	if limit := r.Size() + 2*probesPerBand; calls > limit {
		t.Errorf("Pick called inUse %d times; want at most %d", calls, limit)
	}
}
