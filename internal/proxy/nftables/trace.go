package nftables

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Packet is the first packet of a connection, for [Trace].
type Packet struct {
	Src, Dst netip.Addr
	Proto    corev1.Protocol
	Dport    int32
	// FromNode: the node itself sends it (output hook); otherwise it arrives on
	// an interface (prerouting).
	FromNode bool
}

// Outcome is where a traced packet ends.
type Outcome struct {
	// Verdict is "dnat", "reject", "drop" or "accept" (no service rule applied).
	Verdict string
	// To is the endpoint of a "dnat" outcome.
	To netip.AddrPort
	// Masquerade: the source address is rewritten to the node's on the way out.
	Masquerade bool
	// Chains are the chains the packet went through, in order.
	Chains []string
}

func (o Outcome) String() string {
	s := o.Verdict
	if o.Verdict == "dnat" {
		s += " " + o.To.String()
	}
	if o.Masquerade {
		s += " masquerade"
	}
	return s
}

// Trace follows p through rs on a node whose local addresses are local, and
// returns every way it can end: one outcome per endpoint that the random choice
// may pick (affinity sets are taken as empty, as for a first connection).
// Outcomes are sorted by their String form.
func Trace(rs *Ruleset, local []netip.Addr, p Packet) []Outcome {
	t := &tracer{rs: rs.flatten(), local: local}
	start := state{pkt: p}
	var out []state
	if p.FromNode {
		for _, s := range t.hook(start, "nat-output", chainOutputRetry) {
			out = append(out, t.post(s)...)
		}
	} else {
		for _, s := range t.hook(start, "nat-prerouting", chainPreroutingRetry) {
			// Delivered to the node itself: no postrouting.
			if s.final != "" || t.isLocal(s.dst()) {
				out = append(out, s)
				continue
			}
			out = append(out, t.post(s)...)
		}
	}
	res := make([]Outcome, 0, len(out))
	for _, s := range out {
		o := Outcome{Verdict: s.final, Masquerade: s.masq, Chains: s.chains}
		switch {
		case o.Verdict != "":
		case s.dnat.IsValid():
			o.Verdict, o.To = "dnat", s.dnat
		default:
			o.Verdict = "accept"
		}
		res = append(res, o)
	}
	slices.SortFunc(res, func(a, b Outcome) int { return strings.Compare(a.String(), b.String()) })
	return slices.CompactFunc(res, func(a, b Outcome) bool { return a.String() == b.String() })
}

type tracer struct {
	rs    *flatRuleset
	local []netip.Addr
}

// state is one path of a packet through the ruleset.
type state struct {
	pkt    Packet
	dnat   netip.AddrPort
	mark   uint32
	masq   bool
	final  string // "reject" or "drop" once decided
	chains []string
}

func (s state) dst() netip.Addr {
	if s.dnat.IsValid() {
		return s.dnat.Addr()
	}
	return s.pkt.Dst
}

func (s state) clone() state {
	s.chains = slices.Clone(s.chains)
	return s
}

func (t *tracer) isLocal(a netip.Addr) bool { return slices.Contains(t.local, a) }

// post runs the packet through nat-postrouting.
func (t *tracer) post(s state) []state {
	if s.final != "" {
		return []state{s}
	}
	return t.run("nat-postrouting", s)
}

// hook runs the nat base chains of one hook in order of priority, as the
// kernel does: a path goes on to the next chain while no chain has translated
// it or decided its fate.
func (t *tracer) hook(s state, chains ...string) []state {
	paths := []state{s}
	for _, name := range chains {
		if t.rs.chain(name) == nil {
			continue
		}
		var next []state
		for _, p := range paths {
			if p.final != "" || p.dnat.IsValid() {
				next = append(next, p)
				continue
			}
			next = append(next, t.run(name, p)...)
		}
		paths = next
	}
	return paths
}

// run evaluates base chain name; paths end when the chain ends (accept) or a
// terminal verdict is reached.
func (t *tracer) run(name string, s state) []state {
	return t.chain(name, s, 0)
}

// chain evaluates chain name from rule index from. A path that falls off the
// end of the chain returns to its caller (flagged by ret).
func (t *tracer) chain(name string, s state, depth int) []state {
	c := t.rs.chain(name)
	if c == nil || depth > 32 {
		s.final = "drop"
		return []state{s}
	}
	s.chains = append(s.chains, name)
	paths := []pathState{{state: s}}
	for _, r := range c.Rules {
		var next []pathState
		for _, p := range paths {
			if p.done {
				next = append(next, p)
				continue
			}
			next = append(next, t.rule(r, p.state, depth)...)
		}
		paths = next
	}
	out := make([]state, len(paths))
	for i, p := range paths {
		out[i] = p.state
	}
	return out
}

// pathState is a state within a chain; done means a verdict (goto, return,
// drop, reject, or a goto that came back from its target) ended this chain.
type pathState struct {
	state
	done bool
}

func (t *tracer) rule(r Rule, s state, depth int) []pathState {
	s = s.clone()
	for i, st := range r {
		switch st := st.(type) {
		case MatchNumgen:
			// Both outcomes of the draw are possible (the last one always matches).
			matched := t.rule(r[i+1:], s, depth)
			if st.Mod <= 1 {
				return matched
			}
			return append(matched, pathState{state: s.clone()})
		case MatchAddr:
			a := s.pkt.Src
			if !st.Source {
				a = s.dst()
			}
			if st.Prefix.Contains(a) == st.Neg {
				return []pathState{{state: s}}
			}
		case MatchAddrSet:
			a := s.pkt.Src
			if !st.Source {
				a = s.dst()
			}
			set := t.rs.lookupSet(st.Set)
			if set == nil || set.Timeout > 0 || !slices.Contains(set.Elements, a) {
				return []pathState{{state: s}}
			}
		case MatchHairpin:
			set := t.rs.lookupSet(st.Set)
			if !s.dnat.IsValid() || s.pkt.Src != s.dnat.Addr() || set == nil || !slices.Contains(set.Elements, s.pkt.Src) {
				return []pathState{{state: s}}
			}
		case MatchProto:
			if s.pkt.Proto != st.Proto {
				return []pathState{{state: s}}
			}
		case MatchDport:
			if t.dport(s) != st.Port {
				return []pathState{{state: s}}
			}
		case MatchFibLocal:
			a := s.pkt.Src
			if !st.Source {
				a = s.dst()
			}
			if !t.isLocal(a) {
				return []pathState{{state: s}}
			}
		case MatchMarkClear:
			if s.mark&st.Bit != 0 {
				return []pathState{{state: s}}
			}
		case SetMark:
			if st.Xor {
				s.mark ^= st.Bit
			} else {
				s.mark |= st.Bit
			}
		case Masquerade:
			s.masq = true
		case DNAT:
			if s.pkt.Proto == st.Proto {
				s.dnat = st.To
			}
			return []pathState{{state: s, done: true}}
		case DNATMap:
			// Every number the draw may give: each index with an element
			// DNATs, a missing one does not match.
			if s.pkt.Proto != st.Proto {
				return []pathState{{state: s}}
			}
			m := t.rs.lookupMap(st.Map)
			var out []pathState
			for i := range st.Mod {
				j := -1
				if m != nil {
					key := Element{Addr: s.dst(), Proto: s.pkt.Proto, Port: t.dport(s), Index: i}.key(m.Key)
					j = slices.IndexFunc(m.Elements, func(e Element) bool { return e.key(m.Key) == key })
				}
				if j < 0 {
					out = append(out, pathState{state: s.clone()})
					continue
				}
				next := s.clone()
				next.dnat = m.Elements[j].To
				out = append(out, pathState{state: next, done: true})
			}
			return out
		case AffinityUpdate:
		case RejectTCPReset:
			s.final = "reject"
			return []pathState{{state: s, done: true}}
		case MatchKeySet:
			m := t.rs.lookupMap(st.Set)
			if m == nil {
				return []pathState{{state: s}}
			}
			key := Element{Addr: s.dst(), Proto: s.pkt.Proto, Port: t.dport(s)}.key(st.Key)
			if !slices.ContainsFunc(m.Elements, func(e Element) bool { return e.key(m.Key) == key }) {
				return []pathState{{state: s}}
			}
		case MapLookup:
			m := t.rs.lookupMap(st.Map)
			if m == nil {
				return []pathState{{state: s}}
			}
			key := Element{Addr: s.dst(), Proto: s.pkt.Proto, Port: t.dport(s)}.key(st.Key)
			i := slices.IndexFunc(m.Elements, func(e Element) bool { return e.key(m.Key) == key })
			if i < 0 {
				return []pathState{{state: s}}
			}
			return t.verdict(m.Elements[i].Verdict, s, depth)
		case Do:
			return t.verdict(st.Verdict, s, depth)
		default:
			panic(fmt.Sprintf("trace: statement %T", st))
		}
	}
	return []pathState{{state: s}}
}

func (t *tracer) dport(s state) int32 {
	if s.dnat.IsValid() {
		return int32(s.dnat.Port())
	}
	return s.pkt.Dport
}

// verdict applies v: jump continues after the called chain returns; goto ends
// this chain with the target's result; the rest end evaluation.
func (t *tracer) verdict(v Verdict, s state, depth int) []pathState {
	switch v.Kind {
	case Jump, Goto:
		var out []pathState
		for _, r := range t.chain(v.Chain, s, depth+1) {
			out = append(out, pathState{state: r, done: v.Kind == Goto || r.final != "" || r.dnat != s.dnat})
		}
		return out
	case Return:
		return []pathState{{state: s, done: true}}
	case Drop:
		s.final = "drop"
	case Reject:
		s.final = "reject"
	}
	return []pathState{{state: s, done: true}}
}
