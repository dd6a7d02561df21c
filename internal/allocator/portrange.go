package allocator

import (
	"fmt"
	"math/rand/v2"

	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Static band for node ports (KEP-3668): min(max(16, size/32), 128).
const (
	portStaticFloor   = 16
	portStaticStep    = 32
	portStaticCeiling = 128
)

// PortRange is a node port range, such as the default 30000-32767. Its first
// StaticSize ports form the static band.
//
// A PortRange is immutable and safe for concurrent use.
type PortRange struct {
	base, size, static int
}

// ParsePortRange parses a node port range the way kube-apiserver's
// --service-node-port-range flag does: "min-max" or "min+offset", both ends
// inclusive, or a single port. Unlike the flag it rejects an empty range and port 0.
func ParsePortRange(s string) (*PortRange, error) {
	pr, err := utilnet.ParsePortRange(s)
	if err != nil {
		return nil, fmt.Errorf("parse node port range: %w", err)
	}
	if pr.Size == 0 {
		return nil, fmt.Errorf("parse node port range: empty range %q", s)
	}
	if pr.Base < 1 {
		return nil, fmt.Errorf("parse node port range %q: ports start at 1", s)
	}
	return &PortRange{
		base:   pr.Base,
		size:   pr.Size,
		static: rangeOffset(pr.Size, portStaticFloor, portStaticStep, portStaticCeiling),
	}, nil
}

// Base returns the first port of the range.
func (r *PortRange) Base() int { return r.base }

// Size returns the number of ports in the range.
func (r *PortRange) Size() int { return r.size }

// StaticSize returns how many ports, from Base on, form the static band that Pick
// uses only once the rest of the range is full; 0 means the range is not split.
func (r *PortRange) StaticSize() int { return r.static }

// String returns the range as "min-max", such as "30000-32767".
func (r *PortRange) String() string {
	return fmt.Sprintf("%d-%d", r.base, r.base+r.size-1)
}

// Contains reports whether p is in the range.
func (r *PortRange) Contains(p int) bool {
	return p >= r.base && p-r.base < r.size
}

// CheckRequested validates a port a user asked for. It returns a
// *PortNotInRangeError, whose message is kube-apiserver's, when p is outside the
// range. Whether p is already taken is for the caller to check.
func (r *PortRange) CheckRequested(p int) error {
	if !r.Contains(p) {
		return &PortNotInRangeError{Port: p, ValidPorts: r.String()}
	}
	return nil
}

// Pick returns a random free port, drawing from the upper (dynamic) band first and
// from the static band only when the upper band is full. inUse reports which ports
// are taken; it is called only with ports of the range, possibly many times, and must
// not block. rnd supplies the randomness (nil means math/rand/v2's shared source); a
// *rand.Rand is not safe for concurrent use. Pick returns ErrFull when every port is
// in use.
func (r *PortRange) Pick(rnd *rand.Rand, inUse func(int) bool) (int, error) {
	i, ok := pickIndex(rnd, r.size, r.static, func(i int) bool { return inUse(r.base + i) })
	if !ok {
		return 0, ErrFull
	}
	return r.base + i, nil
}
