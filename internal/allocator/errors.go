package allocator

import (
	"errors"
	"fmt"
	"net/netip"
)

// The messages below are kube-apiserver's own, capitals and punctuation included,
// because clients and users match on them.

var (
	// ErrFull is returned by IPRange.Pick and PortRange.Pick when no value is free.
	ErrFull = errors.New("range is full")
	// ErrIPAllocated is for callers to return when a requested IP is already taken.
	ErrIPAllocated = errors.New("provided IP is already allocated")
	// ErrPortAllocated is for callers to return when a requested port is already taken.
	ErrPortAllocated = errors.New("provided port is already allocated")
)

// IPNotInRangeError is returned by IPRange.CheckRequested for an address that the
// range cannot allocate: outside the CIDR, its network or broadcast address, or
// beyond the IPv6 size cap.
type IPNotInRangeError struct {
	IP netip.Addr
	// ValidRange is the service CIDR, such as "10.96.0.0/12".
	ValidRange string
}

func (e *IPNotInRangeError) Error() string {
	return fmt.Sprintf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", e.IP, e.ValidRange)
}

// PortNotInRangeError is returned by PortRange.CheckRequested for a port outside
// the node port range.
type PortNotInRangeError struct {
	Port int
	// ValidPorts is the range in "min-max" form, such as "30000-32767".
	ValidPorts string
}

func (e *PortNotInRangeError) Error() string {
	return fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", e.ValidPorts)
}
