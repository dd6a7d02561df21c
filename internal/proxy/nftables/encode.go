package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	nft "github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/svcnet/svcnet/internal/proxy"
)

// Registers as nft uses them: the 16-byte register 1 for single values, and for
// the fields of a concatenated key the register at each field's offset (see
// regAt).
const (
	reg1 = unix.NFT_REG_1
	reg2 = unix.NFT_REG_2
)

// regAt is the register nft names for data at word (4-byte) offset w of the
// register file, as `nft --debug=netlink` shows it: a 16-byte register when w
// is a multiple of four (NFT_REG_1 is words 0-3, NFT_REG_2 words 4-7), the
// 4-byte NFT_REG32_00+w otherwise. An IPv4 key address . proto . port .
// number takes registers 1, 9, 10, 11; an IPv6 one 1 (16 bytes), 2, 13, 14.
func regAt(w int) uint32 {
	if w%4 == 0 {
		return uint32(unix.NFT_REG_1 + w/4)
	}
	return uint32(unix.NFT_REG32_00 + w)
}

// Offsets of the addresses in the network header, and their length.
const (
	ip4Saddr, ip4Daddr, ip4Len = 12, 16, 4
	ip6Saddr, ip6Daddr, ip6Len = 8, 24, 16
)

// rtnLocal is the fib address type of a local address (RTN_LOCAL).
const rtnLocal = 2

// ipsDstNAT is the conntrack status bit of a destination-NATed connection.
const ipsDstNAT = 0x20

// encoder turns the ruleset's statements into netlink expressions on one
// connection, queuing anonymous sets (numgen verdict maps) as it goes, for a
// table of the ip family, or with v6 of the ip6 family.
type encoder struct {
	conn  *nft.Conn
	table *nft.Table
	v6    bool
}

// addr returns the network header offset of the source (or destination)
// address, and the length of an address.
func (e *encoder) addr(source bool) (off, n uint32) {
	switch {
	case e.v6 && source:
		return ip6Saddr, ip6Len
	case e.v6:
		return ip6Daddr, ip6Len
	case source:
		return ip4Saddr, ip4Len
	}
	return ip4Daddr, ip4Len
}

// words is the number of 4-byte registers an address takes.
func (e *encoder) words() int {
	if e.v6 {
		return 4
	}
	return 1
}

func (e *encoder) natFamily() uint32 {
	if e.v6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

// prefixMask is the mask of the first bits of an n-byte address.
func prefixMask(bits, n int) []byte {
	m := make([]byte, n)
	for i := range m {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	return m
}

func (e *encoder) rule(chain *nft.Chain, r Rule) error {
	var exprs []expr.Any
	for _, s := range r {
		x, err := e.stmt(s)
		if err != nil {
			return fmt.Errorf("encode rule %q in chain %s: %w", r.text(e.family()), chain.Name, err)
		}
		exprs = append(exprs, x...)
	}
	e.conn.AddRule(&nft.Rule{Table: e.table, Chain: chain, Exprs: exprs})
	return nil
}

func (e *encoder) family() proxy.Family {
	if e.v6 {
		return proxy.IPv6
	}
	return proxy.IPv4
}

// addrBytes is a in the encoding of the table's family.
func (e *encoder) addrBytes(a netip.Addr) []byte {
	if e.v6 {
		b := a.As16()
		return b[:]
	}
	b := a.As4()
	return b[:]
}

func (e *encoder) stmt(s Stmt) ([]expr.Any, error) {
	switch s := s.(type) {
	case MatchAddr:
		off, n := e.addr(s.Source)
		op := expr.CmpOpEq
		if s.Neg {
			op = expr.CmpOpNeq
		}
		out := []expr.Any{&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}}
		if bits := s.Prefix.Bits(); bits < int(8*n) {
			out = append(out, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: n,
				Mask: prefixMask(bits, int(n)), Xor: make([]byte, n)})
		}
		return append(out, &expr.Cmp{Op: op, Register: reg1, Data: e.addrBytes(s.Prefix.Masked().Addr())}), nil
	case MatchAddrSet:
		off, n := e.addr(s.Source)
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Lookup{SourceRegister: reg1, SetName: s.Set},
		}, nil
	case MatchHairpin:
		soff, n := e.addr(true)
		doff, _ := e.addr(false)
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeySTATUS},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: soff, Len: n},
			&expr.Payload{DestRegister: regAt(e.words()), Base: expr.PayloadBaseNetworkHeader, Offset: doff, Len: n},
			&expr.Lookup{SourceRegister: reg1, SetName: s.Set},
		}, nil
	case MatchProto:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{protoNumber(s.Proto)}},
		}, nil
	case MatchDport:
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.BigEndian.PutUint16(uint16(s.Port))},
		}, nil
	case MatchFibLocal:
		return []expr.Any{
			&expr.Fib{Register: reg1, FlagSADDR: s.Source, FlagDADDR: !s.Source, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(rtnLocal)},
		}, nil
	case MatchMarkClear:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(s.Bit), Xor: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
		}, nil
	case SetMark:
		mask, xor := ^s.Bit, s.Bit
		if s.Xor {
			mask = 0xffffffff
		}
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: binaryutil.NativeEndian.PutUint32(xor)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1},
		}, nil
	case Masquerade:
		return []expr.Any{&expr.Masq{FullyRandom: true}}, nil
	case DNAT:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{protoNumber(s.Proto)}},
			&expr.Immediate{Register: reg1, Data: e.addrBytes(s.To.Addr())},
			&expr.Immediate{Register: reg2, Data: binaryutil.BigEndian.PutUint16(s.To.Port())},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: e.natFamily(), RegAddrMin: reg1, RegProtoMin: reg2, Specified: true},
		}, nil
	case MatchKeySet:
		out, _ := e.loadKey(s.Key)
		return append(out, &expr.Lookup{SourceRegister: reg1, SetName: s.Set}), nil
	case MapLookup:
		out, _ := e.loadKey(s.Key)
		return append(out, &expr.Lookup{SourceRegister: reg1, SetName: s.Map, DestRegister: 0, IsDestRegSet: true}), nil
	case DNATMap:
		// As nft does it: the key fields and the drawn number in consecutive
		// registers from register 1, the looked-up address . port back into
		// register 1 (the address) and the register after the address (the
		// port).
		out := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{protoNumber(s.Proto)}},
		}
		key, words := e.loadKey(s.Key)
		out = append(out, key...)
		out = append(out,
			&expr.Numgen{Register: regAt(words), Modulus: s.Mod, Type: unix.NFT_NG_RANDOM},
			&expr.Lookup{SourceRegister: reg1, SetName: s.Map, DestRegister: reg1, IsDestRegSet: true},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: e.natFamily(), RegAddrMin: reg1, RegProtoMin: regAt(e.words()), Specified: true})
		return out, nil
	case MatchNumgen:
		return []expr.Any{
			&expr.Numgen{Register: reg1, Modulus: s.Mod, Type: unix.NFT_NG_RANDOM},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
		}, nil
	case AffinityUpdate:
		off, n := e.addr(true)
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Dynset{SrcRegKey: reg1, SetName: s.Set, Operation: uint32(unix.NFT_DYNSET_OP_UPDATE)},
		}, nil
	case Do:
		if s.Verdict.Kind == Reject && e.v6 {
			return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: icmp6PortUnreach}}, nil
		}
		return []expr.Any{verdictExpr(s.Verdict)}, nil
	case RejectTCPReset:
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}, nil
	}
	return nil, fmt.Errorf("unknown statement %T", s)
}

// loadKey loads the fields of a concatenated key into consecutive registers
// from register 1, each field padded to whole 4-byte registers (an IPv6
// address takes four), and returns the words used.
func (e *encoder) loadKey(key []KeyField) ([]expr.Any, int) {
	out := make([]expr.Any, 0, len(key)+1)
	w := 0
	for _, k := range key {
		reg := regAt(w)
		switch k {
		case KeyDaddr:
			off, n := e.addr(false)
			out = append(out, &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n})
			w += e.words()
			continue
		case KeyL4Proto:
			out = append(out, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg})
		case KeyDport:
			out = append(out, &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
		}
		w++
	}
	return out, w
}

// icmp6PortUnreach is ICMPv6's port unreachable code (ICMPV6_PORT_UNREACH):
// reject in an ip6 table sends it, as ICMP's code 3 in an ip table.
const icmp6PortUnreach = 4

func verdictExpr(v Verdict) expr.Any {
	switch v.Kind {
	case Jump:
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: v.Chain}
	case Goto:
		return &expr.Verdict{Kind: expr.VerdictGoto, Chain: v.Chain}
	case Return:
		return &expr.Verdict{Kind: expr.VerdictReturn}
	case Drop:
		return &expr.Verdict{Kind: expr.VerdictDrop}
	}
	return &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3} // port unreachable
}

// appendElementKey appends the key of el to out: each field padded to 4 bytes,
// an address in the table family's length.
func (e *encoder) appendElementKey(out []byte, fields []KeyField, el Element) []byte {
	for _, f := range fields {
		switch f {
		case KeyDaddr:
			if e.v6 {
				a := el.Addr.As16()
				out = append(out, a[:]...)
				continue
			}
			a := el.Addr.As4()
			out = append(out, a[:]...)
		case KeyL4Proto:
			out = append(out, protoNumber(el.Proto), 0, 0, 0)
		case KeyDport:
			out = append(out, byte(el.Port>>8), byte(el.Port), 0, 0)
		case KeyIndex:
			// numgen writes its number in host byte order.
			out = binary.NativeEndian.AppendUint32(out, el.Index)
		}
	}
	return out
}

func (e *encoder) addrType() nft.SetDatatype {
	if e.v6 {
		return nft.TypeIP6Addr
	}
	return nft.TypeIPAddr
}

func (e *encoder) keyType(fields []KeyField) nft.SetDatatype {
	types := make([]nft.SetDatatype, len(fields))
	for i, f := range fields {
		switch f {
		case KeyDaddr:
			types[i] = e.addrType()
		case KeyL4Proto:
			types[i] = nft.TypeInetProto
		case KeyDport:
			types[i] = nft.TypeInetService
		case KeyIndex:
			// A 4-byte integer in host byte order; nft's own maps say so with
			// typeof, which google/nftables does not encode, and nft lists
			// the mark type the same way.
			types[i] = nft.TypeMark
		}
	}
	if len(types) == 1 {
		return types[0]
	}
	return nft.MustConcatSetType(types...)
}

// endpointType (endpoint6Type) is the data of an Endpoints map of an ip (ip6)
// table: address . port.
var (
	endpointType  = nft.MustConcatSetType(nft.TypeIPAddr, nft.TypeInetService)
	endpoint6Type = nft.MustConcatSetType(nft.TypeIP6Addr, nft.TypeInetService)
)

// mapSet describes map m for element messages; sizedMap for its creation.
func (e *encoder) mapSet(m *Map) *nft.Set { return e.sizedMap(m, 0) }

// sizedMap describes map m holding at most size elements (0: no limit). A
// size makes the kernel choose a hash of fixed buckets instead of a resizable
// one, which takes a full sync's hundreds of thousands of elements in half the
// time (the resizable table keeps growing while one transaction fills it).
func (e *encoder) sizedMap(m *Map, size uint32) *nft.Set {
	data := nft.TypeVerdict
	if m.Endpoints {
		data = endpointType
		if e.v6 {
			data = endpoint6Type
		}
	}
	if m.Set {
		return &nft.Set{Table: e.table, Name: m.Name, KeyType: e.keyType(m.Key), Concatenation: len(m.Key) > 1, Size: size}
	}
	return &nft.Set{Table: e.table, Name: m.Name, IsMap: true, KeyType: e.keyType(m.Key), DataType: data,
		Concatenation: len(m.Key) > 1, Size: size}
}

func (e *encoder) addrSet(s *Set) *nft.Set {
	set := &nft.Set{Table: e.table, Name: s.Name, KeyType: e.addrType()}
	if s.Pairs {
		set.KeyType, set.Concatenation = nft.MustConcatSetType(e.addrType(), e.addrType()), true
	}
	if s.Timeout > 0 {
		set.HasTimeout, set.Dynamic, set.Timeout = true, true, s.Timeout
	}
	return set
}

func (e *encoder) mapElements(m *Map, els []Element) []nft.SetElement {
	out := make([]nft.SetElement, len(els))
	// One buffer for every key and value: a full sync encodes hundreds of
	// thousands of elements.
	alen := 4 * e.words()
	klen, vlen := 4*len(m.Key), 0
	if e.v6 && slices.Contains(m.Key, KeyDaddr) {
		klen += alen - 4
	}
	if m.Endpoints {
		vlen = alen + 4
	}
	buf := make([]byte, 0, len(els)*(klen+vlen))
	for i, el := range els {
		start := len(buf)
		buf = e.appendElementKey(buf, m.Key, el)
		key := buf[start:len(buf):len(buf)]
		if m.Set {
			out[i] = nft.SetElement{Key: key}
			continue
		}
		if m.Endpoints {
			if e.v6 {
				to := el.To.Addr().As16()
				buf = append(buf, to[:]...)
			} else {
				to := el.To.Addr().As4()
				buf = append(buf, to[0], to[1], to[2], to[3])
			}
			buf = append(buf, byte(el.To.Port()>>8), byte(el.To.Port()), 0, 0)
			out[i] = nft.SetElement{Key: key, Val: buf[len(buf)-vlen : len(buf) : len(buf)]}
			continue
		}
		out[i] = nft.SetElement{Key: key, VerdictData: verdictExpr(el.Verdict).(*expr.Verdict)}
	}
	return out
}

// addrElements encodes a set's addresses (each twice for a Pairs set).
func (e *encoder) addrElements(s *Set, addrs []netip.Addr) []nft.SetElement {
	out := make([]nft.SetElement, len(addrs))
	for i, a := range addrs {
		key := e.addrBytes(a)
		if s.Pairs {
			key = append(key, e.addrBytes(a)...)
		}
		out[i] = nft.SetElement{Key: key}
	}
	return out
}

func (e *encoder) chain(c *Chain) *nft.Chain {
	ch := &nft.Chain{Table: e.table, Name: c.Name}
	if c.Hook != nil {
		ch.Type = nft.ChainType(c.Hook.Type)
		ch.Hooknum = hookNum(c.Hook.Hook)
		ch.Priority = nft.ChainPriorityRef(nft.ChainPriority(c.Hook.Priority))
		accept := nft.ChainPolicyAccept
		ch.Policy = &accept
	}
	return ch
}

func hookNum(h string) *nft.ChainHook {
	switch h {
	case "prerouting":
		return nft.ChainHookPrerouting
	case "input":
		return nft.ChainHookInput
	case "forward":
		return nft.ChainHookForward
	case "output":
		return nft.ChainHookOutput
	}
	return nft.ChainHookPostrouting
}
