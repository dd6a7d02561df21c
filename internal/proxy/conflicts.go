package proxy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The API lets two Services claim the same destination: externalIPs and load
// balancer ingress IPs are not allocated, so two Services may name the same
// address and port, or one may name another's cluster IP. A data plane can send
// a destination to one place only (nftables refuses a transaction that adds a
// map key twice, which would stop every Service on the node), so the Builder
// gives each contested destination to one claimant and leaves it out of the
// others' ports:
//
//   - a cluster IP beats an external address (cluster IPs are allocated, so a
//     Service cannot take another's by naming it);
//   - otherwise the Service created first keeps it, so a new Service cannot
//     take the traffic of an existing one (CVE-2020-8554 is the same abuse);
//     ties go by namespace, name and port name.

// claimKey is one destination a data plane dispatches on: address, protocol
// and port; a node port has no address.
type claimKey struct {
	addr  netip.Addr
	proto corev1.Protocol
	port  int32
}

func (k claimKey) String() string {
	if !k.addr.IsValid() {
		return fmt.Sprintf("node port %d/%s", k.port, k.proto)
	}
	return fmt.Sprintf("%s/%s", netip.AddrPortFrom(k.addr, uint16(k.port)), k.proto)
}

type claimKind int

const (
	claimClusterIP claimKind = iota
	claimExternal
	claimNodePort
)

type claim struct {
	port    *ServicePort
	kind    claimKind
	created time.Time
}

func compareClaims(a, b claim) int {
	return cmp.Or(cmp.Compare(a.kind, b.kind), a.created.Compare(b.created), ComparePortNames(a.port.Name, b.port.Name))
}

// Conflict is a destination that more than one service port claims.
type Conflict struct {
	// Destination is address:port/protocol, or "node port N/protocol".
	Destination string
	// Winner gets the traffic.
	Winner PortName
	// Losers lose the destination (a port that loses its cluster IP is left
	// out of the snapshot).
	Losers []PortName
}

func (c Conflict) String() string {
	losers := make([]string, len(c.Losers))
	for i, l := range c.Losers {
		losers[i] = l.String()
	}
	return fmt.Sprintf("%s: %s keeps it, not %s", c.Destination, c.Winner, strings.Join(losers, ", "))
}

// claims indexes who claims which destination.
type claims struct {
	by map[claimKey][]claim
	// contested are the keys with more than one claimant.
	contested map[claimKey]bool
}

func newClaims() *claims {
	return &claims{by: map[claimKey][]claim{}, contested: map[claimKey]bool{}}
}

// eachClaim calls f with every destination sp claims.
func (sp *ServicePort) eachClaim(f func(claimKey, claimKind)) {
	f(claimKey{sp.ClusterIP, sp.Protocol, sp.Port}, claimClusterIP)
	for _, a := range sp.ExternalIPs {
		f(claimKey{a, sp.Protocol, sp.Port}, claimExternal)
	}
	for _, a := range sp.LoadBalancerIPs {
		f(claimKey{a, sp.Protocol, sp.Port}, claimExternal)
	}
	if sp.NodePort != 0 {
		f(claimKey{proto: sp.Protocol, port: sp.NodePort}, claimNodePort)
	}
}

func (c *claims) add(e *serviceEntry) {
	for _, sp := range e.ports {
		sp.eachClaim(func(k claimKey, kind claimKind) {
			c.by[k] = append(c.by[k], claim{port: sp, kind: kind, created: e.created})
			if len(c.by[k]) > 1 {
				c.contested[k] = true
			}
		})
	}
}

func (c *claims) remove(e *serviceEntry) {
	for _, sp := range e.ports {
		sp.eachClaim(func(k claimKey, _ claimKind) {
			list := slices.DeleteFunc(c.by[k], func(cl claim) bool { return cl.port == sp })
			switch len(list) {
			case 0:
				delete(c.by, k)
			default:
				c.by[k] = list
			}
			if len(list) < 2 {
				delete(c.contested, k)
			}
		})
	}
}

// resolve rewrites ports (sorted by name) so that every destination has one
// claimant: a port that loses a destination is replaced by a copy without it.
// It returns the conflicts, sorted by destination.
func (c *claims) resolve(ports []*ServicePort) ([]*ServicePort, []Conflict) {
	if len(c.contested) == 0 {
		return ports, nil
	}
	type loss struct {
		addrs    []netip.Addr
		nodePort bool
		whole    bool
	}
	losses := map[*ServicePort]*loss{}
	var conflicts []Conflict
	for k := range c.contested {
		list := slices.Clone(c.by[k])
		slices.SortFunc(list, compareClaims)
		conf := Conflict{Destination: k.String(), Winner: list[0].port.Name}
		// A port claims a destination once (servicePorts drops an external
		// address equal to the port's cluster IP or listed twice), so every
		// claim after the first is another port's.
		for _, cl := range list[1:] {
			l := losses[cl.port]
			if l == nil {
				l = &loss{}
				losses[cl.port] = l
			}
			switch cl.kind {
			case claimClusterIP:
				l.whole = true
			case claimExternal:
				l.addrs = append(l.addrs, k.addr)
			case claimNodePort:
				l.nodePort = true
			}
			conf.Losers = append(conf.Losers, cl.port.Name)
		}
		conflicts = append(conflicts, conf)
	}
	slices.SortFunc(conflicts, func(a, b Conflict) int { return strings.Compare(a.Destination, b.Destination) })
	cmpPort := func(p *ServicePort, name PortName) int { return ComparePortNames(p.Name, name) }
	var gone []int
	for sp, l := range losses {
		i, found := slices.BinarySearchFunc(ports, sp.Name, cmpPort)
		if !found || ports[i] != sp {
			continue
		}
		if l.whole {
			gone = append(gone, i)
			continue
		}
		cp := *sp
		lost := func(a netip.Addr) bool { return slices.Contains(l.addrs, a) }
		cp.ExternalIPs = slices.DeleteFunc(slices.Clone(sp.ExternalIPs), lost)
		cp.LoadBalancerIPs = slices.DeleteFunc(slices.Clone(sp.LoadBalancerIPs), lost)
		if l.nodePort {
			cp.NodePort = 0
		}
		ports[i] = &cp
	}
	slices.Sort(gone)
	for j := len(gone) - 1; j >= 0; j-- {
		ports = slices.Delete(ports, gone[j], gone[j]+1)
	}
	return ports, conflicts
}
