package nftables

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/proxy"
)

// Ruleset is the whole desired content of svcnet's table: what a sync makes the
// kernel hold. It is built by [Build], printed by [Ruleset.String] in nft's
// syntax (for golden files and `svcnet agent --dump`), walked by [Trace], and
// programmed by the [Proxier] over netlink.
//
// It is kept in groups, one per service port plus a fixed one, so that a sync
// can tell what changed by comparing groups (a [Builder] hands back the same
// *Group for a port that did not change) instead of walking every element.
type Ruleset struct {
	Table string
	// Family is the table's address family: IPv4 (table ip) or IPv6 (table
	// ip6). Statements name no family; the table's decides how they read and
	// are encoded, as in nft, where a rule of an ip6 table says "ip6 daddr".
	Family proxy.Family
	// Maps declares the table's maps; their elements are in the groups.
	Maps []*Map
	// Fixed holds what no single service port owns: the base and policy
	// chains, the shared dispatch chains of the endpoint counts in use, and the
	// plain sets.
	Fixed *Group
	// Ports has one group per service port, in the snapshot's order.
	Ports []*Group

	flat *flatRuleset
}

// Group is what one service port (or the fixed part) adds to the table.
type Group struct {
	// Name is the port's ID (namespace/name/protocol/port); "" for the fixed group.
	Name   string
	Chains []*Chain
	// Sets are affinity sets (and, in the fixed group, the plain sets).
	Sets     []*Set
	Elements []MapElement
	// Hairpin are endpoint addresses for the hairpin set; several groups may
	// name one address.
	Hairpin []netip.Addr
	// uses are the dispatch sets the group's elements are in.
	uses []dispatch
}

// MapElement is an element of the named map.
type MapElement struct {
	Map string
	Element
}

// Chain is a named chain; Hook is set for base chains.
type Chain struct {
	Name  string
	Hook  *Hook
	Rules []Rule
	// Linger: an incremental sync that no longer needs the chain leaves it in
	// the kernel (unreferenced) until the next full sync, and takes it back as
	// it is if it is needed again. A picker chain's rules read the endpoint
	// map, and each time such a rule is added the kernel checks every element
	// of that map.
	Linger bool
	// text caches the rules' text once a sync has computed it; a Chain is not
	// changed after it is built.
	text string
}

// rulesText is the chain's rules in nft syntax for a table of family f, one
// a line. A chain belongs to one ruleset, so to one family.
func (c *Chain) rulesText(f proxy.Family) string {
	if c.text == "" && len(c.Rules) > 0 {
		var b strings.Builder
		for _, r := range c.Rules {
			b.WriteString(r.text(f))
			b.WriteByte('\n')
		}
		c.text = b.String()
	}
	return c.text
}

// Hook attaches a base chain to the packet path.
type Hook struct {
	Type     string // "nat" or "filter"
	Hook     string // prerouting, input, forward, output, postrouting
	Priority int
}

// Rule is a sequence of statements evaluated left to right.
type Rule []Stmt

// KeyField is one component of a map key.
type KeyField int

const (
	KeyDaddr KeyField = iota
	KeyL4Proto
	KeyDport
	// KeyIndex is a random number drawn by numgen: the index of an endpoint.
	KeyIndex
)

// Map is keyed by a concatenation of KeyFields; its data is a verdict, or for
// an Endpoints map an endpoint's address and port, and a Set has none.
type Map struct {
	Name      string
	Key       []KeyField
	Endpoints bool
	Set       bool
	// Elements are filled only in a flattened ruleset (printing, tracing); a
	// built ruleset keeps them in its groups.
	Elements []Element
}

// Element is one map entry: key values in the order of the map's Key.
type Element struct {
	Addr  netip.Addr // for KeyDaddr
	Proto corev1.Protocol
	Port  int32
	Index uint32 // for KeyIndex
	// Verdict is "goto CHAIN" or "drop", in a verdict map.
	Verdict Verdict
	// To is the endpoint, in an Endpoints map.
	To netip.AddrPort
}

// Set is a set of addresses of the table's family; Timeout makes it a dynamic affinity set.
// A Pairs set holds each address twice, as "saddr . daddr" (the hairpin set).
type Set struct {
	Name     string
	Timeout  time.Duration
	Pairs    bool
	Elements []netip.Addr
}

// Verdict ends a rule's evaluation.
type Verdict struct {
	Kind  VerdictKind
	Chain string
}

// VerdictKind is jump, goto, return, drop or reject.
type VerdictKind int

const (
	Jump VerdictKind = iota
	Goto
	Return
	Drop
	Reject
)

func (v Verdict) String() string {
	switch v.Kind {
	case Jump:
		return "jump " + v.Chain
	case Goto:
		return "goto " + v.Chain
	case Return:
		return "return"
	case Drop:
		return "drop"
	case Reject:
		return "reject"
	}
	return "?"
}

// Stmt is one statement of a rule. Each kind is a struct below. Its text is
// nft's syntax in a table of family f.
type Stmt interface{ text(f proxy.Family) string }

// MatchAddr matches the source or destination address against Prefix (a single
// address when it is a whole address: /32, /128); Neg inverts it.
type MatchAddr struct {
	Source bool
	Prefix netip.Prefix
	Neg    bool
}

// MatchAddrSet matches the source or destination address against a named set.
type MatchAddrSet struct {
	Source bool
	Set    string
}

// MatchHairpin matches a DNATed packet whose source and destination are the
// same address of the Pairs set: a pod that reached itself through a Service.
type MatchHairpin struct{ Set string }

// MatchProto matches the layer 4 protocol.
type MatchProto struct{ Proto corev1.Protocol }

// MatchDport matches the transport destination port (after a MatchProto).
type MatchDport struct{ Port int32 }

// MatchFibLocal matches packets whose source (or destination) address is local.
type MatchFibLocal struct{ Source bool }

// MatchMarkClear matches packets without Bit in their mark.
type MatchMarkClear struct{ Bit uint32 }

// SetMark ors (or, with Xor, toggles) Bit into the packet mark.
type SetMark struct {
	Bit uint32
	Xor bool
}

// Masquerade source-NATs to the outgoing interface's address.
type Masquerade struct{}

// DNAT rewrites the destination to To.
type DNAT struct {
	Proto corev1.Protocol
	To    netip.AddrPort
}

// MapLookup dispatches on the concatenated key of Map's fields.
type MapLookup struct {
	Key []KeyField
	Map string
}

// DNATMap picks one of Mod endpoints with equal chance: it draws a number below
// Mod (numgen random) and DNATs to the data of Map under the packet's Key
// fields and that number. A port with N endpoints has elements 0..N-1, so the
// table needs one rule per endpoint count, not per service port. It applies
// to Proto only (nft wants a protocol match before a port mapping).
type DNATMap struct {
	Proto corev1.Protocol
	Key   []KeyField
	Mod   uint32
	Map   string
}

// MatchKeySet matches when the packet's Key fields are in Set (a Map with Set).
type MatchKeySet struct {
	Key []KeyField
	Set string
}

// MatchNumgen draws a random number below Mod and matches when it is 0. A chain
// of rules with Mod N, N-1, ..., 2 and a final unconditional one picks each of N
// targets with equal chance, with no set for the kernel to resolve (anonymous
// verdict maps make large transactions quadratic in the kernel).
type MatchNumgen struct{ Mod uint32 }

// AffinityUpdate records the source address in an affinity set.
type AffinityUpdate struct{ Set string }

// RejectTCPReset answers a TCP packet with a reset (after a MatchProto TCP).
type RejectTCPReset struct{}

// Do ends the rule with a verdict.
type Do struct{ Verdict Verdict }

// ipKeyword is nft's name of the network header in a table of family f.
func ipKeyword(f proxy.Family) string {
	if f == proxy.IPv6 {
		return "ip6"
	}
	return "ip"
}

// addrType is nft's name of an address type of family f.
func addrType(f proxy.Family) string {
	if f == proxy.IPv6 {
		return "ipv6_addr"
	}
	return "ipv4_addr"
}

func (m MatchAddr) text(f proxy.Family) string {
	s := ipKeyword(f) + " daddr "
	if m.Source {
		s = ipKeyword(f) + " saddr "
	}
	if m.Neg {
		s += "!= "
	}
	if m.Prefix.Bits() == m.Prefix.Addr().BitLen() {
		return s + m.Prefix.Addr().String()
	}
	return s + m.Prefix.String()
}

func (m MatchAddrSet) text(f proxy.Family) string {
	if m.Source {
		return ipKeyword(f) + " saddr @" + m.Set
	}
	return ipKeyword(f) + " daddr @" + m.Set
}

func (m MatchProto) text(proxy.Family) string { return "meta l4proto " + protoName(m.Proto) }
func (m MatchHairpin) text(f proxy.Family) string {
	ip := ipKeyword(f)
	return "ct status dnat " + ip + " saddr . " + ip + " daddr @" + m.Set
}
func (m MatchDport) text(proxy.Family) string { return fmt.Sprintf("th dport %d", m.Port) }
func (m MatchFibLocal) text(proxy.Family) string {
	if m.Source {
		return "fib saddr type local"
	}
	return "fib daddr type local"
}
func (m MatchMarkClear) text(proxy.Family) string {
	return fmt.Sprintf("meta mark & 0x%08x == 0x00000000", m.Bit)
}
func (m SetMark) text(proxy.Family) string {
	op := "|"
	if m.Xor {
		op = "^"
	}
	return fmt.Sprintf("meta mark set meta mark %s 0x%08x", op, m.Bit)
}
func (Masquerade) text(proxy.Family) string { return "masquerade fully-random" }
func (d DNAT) text(proxy.Family) string {
	// An IPv6 AddrPort prints as [address]:port, as nft wants it.
	return fmt.Sprintf("meta l4proto %s dnat to %s", protoName(d.Proto), d.To)
}
func (m MapLookup) text(f proxy.Family) string   { return keyText(m.Key, f) + " vmap @" + m.Map }
func (m MatchKeySet) text(f proxy.Family) string { return keyText(m.Key, f) + " @" + m.Set }
func (d DNATMap) text(f proxy.Family) string {
	return fmt.Sprintf("meta l4proto %s dnat %s to %s . numgen random mod %d map @%s", protoName(d.Proto), ipKeyword(f), keyText(d.Key, f), d.Mod, d.Map)
}
func (n MatchNumgen) text(proxy.Family) string { return fmt.Sprintf("numgen random mod %d 0", n.Mod) }
func (a AffinityUpdate) text(f proxy.Family) string {
	return "update @" + a.Set + " { " + ipKeyword(f) + " saddr }"
}
func (d Do) text(proxy.Family) string           { return d.Verdict.String() }
func (RejectTCPReset) text(proxy.Family) string { return "reject with tcp reset" }

// keyFieldText gives, per key field, its nft expression and its set type.
var keyFieldText = map[KeyField][2]string{
	KeyDaddr:   {"daddr", ""}, // the family's: see keyField
	KeyL4Proto: {"meta l4proto", "inet_proto"},
	KeyDport:   {"th dport", "inet_service"},
	// Only an Endpoints map has an index, and it is printed with typeof (the
	// modulus there is for show; nft has no type name for a bare integer).
	KeyIndex: {"numgen random mod 65536", ""},
}

// keyField is the nft expression (which 0) or set type (which 1) of k in a
// table of family f.
func keyField(k KeyField, which int, f proxy.Family) string {
	if k == KeyDaddr {
		if which == 0 {
			return ipKeyword(f) + " daddr"
		}
		return addrType(f)
	}
	return keyFieldText[k][which]
}

// keyJoin joins the expressions (which 0) or set types (which 1) of key.
func keyJoin(key []KeyField, which int, f proxy.Family) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = keyField(k, which, f)
	}
	return strings.Join(parts, " . ")
}

func keyText(key []KeyField, f proxy.Family) string     { return keyJoin(key, 0, f) }
func keyTypeText(key []KeyField, f proxy.Family) string { return keyJoin(key, 1, f) }

// protoName is the nft name of a Kubernetes protocol.
func protoName(p corev1.Protocol) string { return strings.ToLower(string(p)) }

// protoNumber is the IP protocol number of a Kubernetes protocol.
func protoNumber(p corev1.Protocol) byte {
	switch p {
	case corev1.ProtocolUDP:
		return 17
	case corev1.ProtocolSCTP:
		return 132
	}
	return 6
}

// text is the rule in nft syntax, in a table of family f.
func (r Rule) text(f proxy.Family) string {
	parts := make([]string, len(r))
	for i, s := range r {
		parts[i] = s.text(f)
	}
	return strings.Join(parts, " ")
}

// elemKey identifies an element within its map (fields a map's key does not
// use are zero).
type elemKey struct {
	addr  netip.Addr
	proto corev1.Protocol
	port  int32
	index uint32
}

func (e Element) id() elemKey { return elemKey{e.Addr, e.Proto, e.Port, e.Index} }

func compareElements(x, y Element) int {
	if c := x.Addr.Compare(y.Addr); c != 0 {
		return c
	}
	if c := strings.Compare(string(x.Proto), string(y.Proto)); c != 0 {
		return c
	}
	if c := int(x.Port) - int(y.Port); c != 0 {
		return c
	}
	return int(x.Index) - int(y.Index)
}

func (e Element) key(fields []KeyField) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		switch f {
		case KeyDaddr:
			parts = append(parts, e.Addr.String())
		case KeyL4Proto:
			parts = append(parts, protoName(e.Proto))
		case KeyDport:
			parts = append(parts, fmt.Sprint(e.Port))
		case KeyIndex:
			parts = append(parts, fmt.Sprint(e.Index))
		}
	}
	return strings.Join(parts, " . ")
}

// flatRuleset is a ruleset with its groups merged: every chain, map (with its
// elements, sorted) and set (the hairpin set filled), for printing, tracing and
// validating. Building it walks everything, so syncs never do.
type flatRuleset struct {
	table  string
	family proxy.Family
	chains []*Chain
	maps   []*Map
	sets   []*Set
	byName map[string]*Chain
}

// flatten merges the groups of rs; the result is cached.
func (rs *Ruleset) flatten() *flatRuleset {
	if rs.flat != nil {
		return rs.flat
	}
	f := &flatRuleset{table: rs.Table, family: rs.Family, byName: map[string]*Chain{}}
	groups := append([]*Group{rs.Fixed}, rs.Ports...)
	maps := map[string]*Map{}
	for _, m := range rs.Maps {
		c := &Map{Name: m.Name, Key: m.Key, Endpoints: m.Endpoints, Set: m.Set}
		maps[m.Name] = c
		f.maps = append(f.maps, c)
	}
	var hairpin []netip.Addr
	for _, g := range groups {
		if g == nil {
			continue
		}
		f.chains = append(f.chains, g.Chains...)
		f.sets = append(f.sets, g.Sets...)
		for _, e := range g.Elements {
			if m := maps[e.Map]; m != nil {
				m.Elements = append(m.Elements, e.Element)
			}
		}
		hairpin = append(hairpin, g.Hairpin...)
	}
	for _, m := range f.maps {
		slices.SortFunc(m.Elements, compareElements)
	}
	slices.SortFunc(hairpin, netip.Addr.Compare)
	hairpin = slices.Compact(hairpin)
	for i, s := range f.sets {
		if s.Name == setHairpin {
			c := *s
			c.Elements = hairpin
			f.sets[i] = &c
		}
	}
	for _, c := range f.chains {
		f.byName[c.Name] = c
	}
	rs.flat = f
	return f
}

// String prints the ruleset in nft's input syntax: `nft -f` would accept it.
func (rs *Ruleset) String() string {
	f := rs.flatten()
	var b strings.Builder
	fam := f.family
	fmt.Fprintf(&b, "table %s %s {\n", ipKeyword(fam), f.table)
	for _, s := range f.sets {
		typ := addrType(fam)
		if s.Pairs {
			typ += " . " + addrType(fam)
		}
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n", s.Name, typ)
		if s.Timeout > 0 {
			fmt.Fprintf(&b, "\t\tflags dynamic,timeout\n\t\ttimeout %ds\n", int(s.Timeout/time.Second))
		}
		if len(s.Elements) > 0 {
			els := make([]string, len(s.Elements))
			for i, a := range s.Elements {
				els[i] = a.String()
				if s.Pairs {
					els[i] += " . " + a.String()
				}
			}
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ", "))
		}
		b.WriteString("\t}\n\n")
	}
	for _, m := range f.maps {
		switch {
		case m.Endpoints:
			fmt.Fprintf(&b, "\tmap %s {\n\t\ttypeof %s : %s daddr . th dport\n", m.Name, keyText(m.Key, fam), ipKeyword(fam))
		case m.Set:
			fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n", m.Name, keyTypeText(m.Key, fam))
		default:
			fmt.Fprintf(&b, "\tmap %s {\n\t\ttype %s : verdict\n", m.Name, keyTypeText(m.Key, fam))
		}
		if len(m.Elements) > 0 {
			b.WriteString("\t\telements = {")
			for i, e := range m.Elements {
				sep := ","
				if i == len(m.Elements)-1 {
					sep = " }"
				}
				data := " : " + e.Verdict.String()
				switch {
				case m.Endpoints:
					data = " : " + e.To.Addr().String() + " . " + fmt.Sprint(e.To.Port())
				case m.Set:
					data = ""
				}
				fmt.Fprintf(&b, "\n\t\t\t%s%s%s", e.key(m.Key), data, sep)
			}
			b.WriteString("\n")
		}
		b.WriteString("\t}\n\n")
	}
	for i, c := range f.chains {
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if c.Hook != nil {
			fmt.Fprintf(&b, "\t\ttype %s hook %s priority %d; policy accept;\n", c.Hook.Type, c.Hook.Hook, c.Hook.Priority)
		}
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r.text(fam))
		}
		b.WriteString("\t}\n")
		if i < len(f.chains)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// chain returns the named chain, or nil.
func (f *flatRuleset) chain(name string) *Chain { return f.byName[name] }

// lookupMap returns the named map, or nil.
func (f *flatRuleset) lookupMap(name string) *Map {
	i := slices.IndexFunc(f.maps, func(m *Map) bool { return m.Name == name })
	if i < 0 {
		return nil
	}
	return f.maps[i]
}

// lookupSet returns the named set, or nil.
func (f *flatRuleset) lookupSet(name string) *Set {
	i := slices.IndexFunc(f.sets, func(s *Set) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return f.sets[i]
}
