package allocator

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Sizing rules for service CIDRs, as kube-apiserver's bitmap allocator applies them.
const (
	// maxIPv6Values caps an IPv6 range: only the first 65536 addresses of the CIDR
	// (network address included, so 65535 allocatable ones) are ever used.
	maxIPv6Values = 1 << 16

	// Static band for IPs (KEP-3070): min(max(16, cidrSize/16), 256).
	ipStaticFloor   = 16
	ipStaticStep    = 16
	ipStaticCeiling = 256
)

// IPRange is a service CIDR from which ClusterIPs are allocated. Its allocatable
// addresses are numbered from 1: Nth(1) is the address right after the network
// address, and the range ends before the IPv4 broadcast address, or for IPv6 after
// Nth(65535) at most. The first StaticSize addresses form the static band.
//
// An IPRange is immutable and safe for concurrent use.
type IPRange struct {
	prefix netip.Prefix
	// netHi and netLo hold the network address as a 128-bit number (netHi is 0 for
	// IPv4). Allocatable offsets never carry into netHi: they are smaller than 2^16
	// for IPv6, and the host bits of the network address are all zero.
	netHi, netLo uint64
	size         int
	static       int
}

// ParseIPRange parses a service CIDR such as "10.96.0.0/12" or "fd00:10:96::/112".
// Host bits are cleared ("10.96.0.5/12" means 10.96.0.0/12). The CIDR must leave at
// least one allocatable address: IPv4 masks up to /30, IPv6 masks up to /126.
func ParseIPRange(cidr string) (*IPRange, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("parse service CIDR: %w", err)
	}
	if prefix.Addr().Is4In6() {
		return nil, fmt.Errorf("service CIDR %q: IPv4-mapped IPv6 prefixes are not supported", cidr)
	}
	prefix = prefix.Masked()
	hostBits := prefix.Addr().BitLen() - prefix.Bits()
	if hostBits < 2 {
		return nil, fmt.Errorf("service CIDR %s is too small: it has no allocatable addresses (the mask must be at most /%d)",
			prefix, prefix.Addr().BitLen()-2)
	}

	// cidrSize saturates for huge IPv6 prefixes; only its comparison with the caps matters.
	cidrSize := 1 << min(hostBits, 62)
	r := &IPRange{
		prefix: prefix,
		static: rangeOffset(cidrSize, ipStaticFloor, ipStaticStep, ipStaticCeiling),
	}
	r.netHi, r.netLo = addrBits(prefix.Addr())
	if prefix.Addr().Is4() {
		r.size = cidrSize - 2 // network and broadcast
	} else {
		r.size = min(cidrSize, maxIPv6Values) - 1 // network
	}
	return r, nil
}

// CIDR returns the service CIDR, with host bits cleared.
func (r *IPRange) CIDR() netip.Prefix { return r.prefix }

// String returns the service CIDR in canonical form, as error messages show it.
func (r *IPRange) String() string { return r.prefix.String() }

// Family returns the IP family of the range.
func (r *IPRange) Family() corev1.IPFamily { return AddrFamily(r.prefix.Addr()) }

// AddrFamily returns the IP family of ip.
func AddrFamily(ip netip.Addr) corev1.IPFamily {
	if ip.Is4() {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// Size returns the number of allocatable addresses.
func (r *IPRange) Size() int { return r.size }

// StaticSize returns how many addresses, from Nth(1) on, form the static band that
// Pick uses only once the rest of the range is full; 0 means the range is not split.
// Users choosing a ClusterIP by hand should choose from this band.
func (r *IPRange) StaticSize() int { return r.static }

// Contains reports whether ip is an allocatable address of the range: inside the
// CIDR, neither the network nor the IPv4 broadcast address, and within the IPv6 cap.
// Addresses with a zone and IPv4-mapped IPv6 addresses are never contained.
func (r *IPRange) Contains(ip netip.Addr) bool {
	_, ok := r.index(ip)
	return ok
}

// Nth returns the n-th allocatable address, counting from 1: Nth(1) is the first
// address after the network address (the "kubernetes" Service's ClusterIP) and
// Nth(10) is where cluster DNS conventionally lives. It reports false when n is not
// in [1, Size()].
func (r *IPRange) Nth(n int) (netip.Addr, bool) {
	if n < 1 || n > r.size {
		return netip.Addr{}, false
	}
	return r.addr(n - 1), true
}

// CheckRequested validates an address a user asked for. It returns an
// *IPNotInRangeError, whose message is kube-apiserver's, when Contains(ip) is false.
// Whether ip is already taken is for the caller to check.
func (r *IPRange) CheckRequested(ip netip.Addr) error {
	if !r.Contains(ip) {
		return &IPNotInRangeError{IP: ip, ValidRange: r.String()}
	}
	return nil
}

// Pick returns a random free address, drawing from the upper (dynamic) band first
// and from the static band only when the upper band is full. inUse reports which
// addresses are taken; it is called only with allocatable addresses, possibly many
// times, and must not block. rnd supplies the randomness (nil means math/rand/v2's
// shared source); a *rand.Rand is not safe for concurrent use, so concurrent callers
// need one each. Pick returns ErrFull when every address is in use.
func (r *IPRange) Pick(rnd *rand.Rand, inUse func(netip.Addr) bool) (netip.Addr, error) {
	i, ok := pickIndex(rnd, r.size, r.static, func(i int) bool { return inUse(r.addr(i)) })
	if !ok {
		return netip.Addr{}, ErrFull
	}
	return r.addr(i), nil
}

// addr returns the address at zero-based allocatable offset i (Nth(i+1)).
func (r *IPRange) addr(i int) netip.Addr {
	lo := r.netLo + 1 + uint64(i)
	if r.prefix.Addr().Is4() {
		return netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.netHi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// index returns the zero-based allocatable offset of ip, or false when ip is not
// allocatable.
func (r *IPRange) index(ip netip.Addr) (int, bool) {
	if !r.prefix.Contains(ip) { // false for zoned and IPv4-mapped addresses too
		return 0, false
	}
	hi, lo := addrBits(ip)
	if hi != r.netHi {
		return 0, false
	}
	d := lo - r.netLo // never wraps: ip is inside the prefix and shares netHi
	if d == 0 || d > uint64(r.size) {
		return 0, false
	}
	return int(d - 1), true
}

// addrBits returns ip as a 128-bit number split in two halves; IPv4 addresses fill
// the low 32 bits.
func addrBits(ip netip.Addr) (hi, lo uint64) {
	if ip.Is4() {
		b := ip.As4()
		return 0, uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := ip.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// ParseIPRanges parses the value of --service-cluster-ip-range: one service CIDR,
// or two of different IP families separated by a comma for a dual-stack cluster.
// The first is the primary range: Services that do not ask for a family get one
// from it. Blanks around each CIDR are ignored.
func ParseIPRanges(value string) ([]*IPRange, error) {
	parts := strings.Split(value, ",")
	if len(parts) > 2 {
		return nil, fmt.Errorf("service CIDRs %q: at most two (one IPv4 and one IPv6) may be given, not %d", value, len(parts))
	}
	ranges := make([]*IPRange, 0, len(parts))
	for _, p := range parts {
		r, err := ParseIPRange(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		ranges = append(ranges, r)
	}
	if len(ranges) == 2 && ranges[0].Family() == ranges[1].Family() {
		return nil, fmt.Errorf("service CIDRs %s and %s are both %s: a dual-stack cluster needs one IPv4 and one IPv6 CIDR",
			ranges[0], ranges[1], ranges[0].Family())
	}
	return ranges, nil
}
