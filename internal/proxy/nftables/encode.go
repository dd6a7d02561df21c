package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	nft "github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Registers as nft uses them: the 16-byte register 1 for single values, and the
// 4-byte registers from NFT_REG32_00 (which overlays register 1) for the fields
// of a concatenated key.
const (
	reg1    = unix.NFT_REG_1
	reg2    = unix.NFT_REG_2
	reg32_0 = unix.NFT_REG32_00
)

// rtnLocal is the fib address type of a local address (RTN_LOCAL).
const rtnLocal = 2

// ipsDstNAT is the conntrack status bit of a destination-NATed connection.
const ipsDstNAT = 0x20

// encoder turns the ruleset's statements into netlink expressions on one
// connection, queuing anonymous sets (numgen verdict maps) as it goes.
type encoder struct {
	conn  *nft.Conn
	table *nft.Table
}

func (e *encoder) rule(chain *nft.Chain, r Rule) error {
	var exprs []expr.Any
	for _, s := range r {
		x, err := e.stmt(s)
		if err != nil {
			return fmt.Errorf("encode rule %q in chain %s: %w", r, chain.Name, err)
		}
		exprs = append(exprs, x...)
	}
	e.conn.AddRule(&nft.Rule{Table: e.table, Chain: chain, Exprs: exprs})
	return nil
}

func ip4(a netip.Addr) []byte { b := a.As4(); return b[:] }

func (e *encoder) stmt(s Stmt) ([]expr.Any, error) {
	switch s := s.(type) {
	case MatchAddr:
		off := uint32(16)
		if s.Source {
			off = 12
		}
		op := expr.CmpOpEq
		if s.Neg {
			op = expr.CmpOpNeq
		}
		out := []expr.Any{&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4}}
		if s.Prefix.Bits() < 32 {
			m := uint32(0xffffffff) << (32 - s.Prefix.Bits())
			mb := binary.BigEndian.AppendUint32(nil, m)
			out = append(out, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: mb, Xor: []byte{0, 0, 0, 0}})
		}
		return append(out, &expr.Cmp{Op: op, Register: reg1, Data: ip4(s.Prefix.Masked().Addr())}), nil
	case MatchAddrSet:
		off := uint32(16)
		if s.Source {
			off = 12
		}
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4},
			&expr.Lookup{SourceRegister: reg1, SetName: s.Set},
		}, nil
	case MatchHairpin:
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeySTATUS},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Payload{DestRegister: reg32_0 + 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
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
	case MatchCtNew:
		return []expr.Any{
			&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
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
			&expr.Immediate{Register: reg1, Data: ip4(s.To.Addr())},
			&expr.Immediate{Register: reg2, Data: binaryutil.BigEndian.PutUint16(s.To.Port())},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg2, Specified: true},
		}, nil
	case MatchKeySet:
		return append(loadKey(s.Key, 0), &expr.Lookup{SourceRegister: reg1, SetName: s.Set}), nil
	case MapLookup:
		out := loadKey(s.Key, 0)
		return append(out, &expr.Lookup{SourceRegister: reg1, SetName: s.Map, DestRegister: 0, IsDestRegSet: true}), nil
	case DNATMap:
		// As nft does it: the key fields and the drawn number in consecutive
		// 4-byte registers from register 1, the looked-up address . port back
		// into register 1 (the address) and the next 4-byte register (the port).
		out := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{protoNumber(s.Proto)}},
		}
		out = append(out, loadKey(s.Key, 0)...)
		out = append(out,
			&expr.Numgen{Register: uint32(reg32_0 + len(s.Key)), Modulus: s.Mod, Type: unix.NFT_NG_RANDOM},
			&expr.Lookup{SourceRegister: reg1, SetName: s.Map, DestRegister: reg1, IsDestRegSet: true},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg32_0 + 1, Specified: true})
		return out, nil
	case MatchNumgen:
		return []expr.Any{
			&expr.Numgen{Register: reg1, Modulus: s.Mod, Type: unix.NFT_NG_RANDOM},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(0)},
		}, nil
	case AffinityUpdate:
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Dynset{SrcRegKey: reg1, SetName: s.Set, Operation: uint32(unix.NFT_DYNSET_OP_UPDATE)},
		}, nil
	case Do:
		return []expr.Any{verdictExpr(s.Verdict)}, nil
	case RejectTCPReset:
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}, nil
	}
	return nil, fmt.Errorf("unknown statement %T", s)
}

// loadKey loads the fields of a concatenated key into consecutive 4-byte
// registers from NFT_REG32_00 + first (register 1 for the first field).
func loadKey(key []KeyField, first int) []expr.Any {
	out := make([]expr.Any, 0, len(key)+1)
	for i, k := range key {
		reg := uint32(reg32_0 + first + i)
		if first+i == 0 {
			reg = reg1
		}
		switch k {
		case KeyDaddr:
			out = append(out, &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4})
		case KeyL4Proto:
			out = append(out, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg})
		case KeyDport:
			out = append(out, &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
		}
	}
	return out
}

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

// appendElementKey appends the key of el to out: each field padded to 4 bytes.
func appendElementKey(out []byte, fields []KeyField, el Element) []byte {
	for _, f := range fields {
		switch f {
		case KeyDaddr:
			out = append(out, ip4(el.Addr)...)
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

func keyType(fields []KeyField) nft.SetDatatype {
	types := make([]nft.SetDatatype, len(fields))
	for i, f := range fields {
		switch f {
		case KeyDaddr:
			types[i] = nft.TypeIPAddr
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

// endpointType is the data of an Endpoints map: address . port.
var endpointType = nft.MustConcatSetType(nft.TypeIPAddr, nft.TypeInetService)

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
	}
	if m.Set {
		return &nft.Set{Table: e.table, Name: m.Name, KeyType: keyType(m.Key), Concatenation: len(m.Key) > 1, Size: size}
	}
	return &nft.Set{Table: e.table, Name: m.Name, IsMap: true, KeyType: keyType(m.Key), DataType: data,
		Concatenation: len(m.Key) > 1, Size: size}
}

func (e *encoder) addrSet(s *Set) *nft.Set {
	set := &nft.Set{Table: e.table, Name: s.Name, KeyType: nft.TypeIPAddr}
	if s.Pairs {
		set.KeyType, set.Concatenation = nft.MustConcatSetType(nft.TypeIPAddr, nft.TypeIPAddr), true
	}
	if s.Timeout > 0 {
		set.HasTimeout, set.Dynamic, set.Timeout = true, true, s.Timeout
	}
	return set
}

func mapElements(m *Map, els []Element) []nft.SetElement {
	out := make([]nft.SetElement, len(els))
	// One buffer for every key and value: a full sync encodes hundreds of
	// thousands of elements.
	klen, vlen := 4*len(m.Key), 0
	if m.Endpoints {
		vlen = 8
	}
	buf := make([]byte, 0, len(els)*(klen+vlen))
	for i, el := range els {
		start := len(buf)
		buf = appendElementKey(buf, m.Key, el)
		key := buf[start:len(buf):len(buf)]
		if m.Set {
			out[i] = nft.SetElement{Key: key}
			continue
		}
		if m.Endpoints {
			to := el.To.Addr().As4()
			buf = append(buf, to[0], to[1], to[2], to[3], byte(el.To.Port()>>8), byte(el.To.Port()), 0, 0)
			out[i] = nft.SetElement{Key: key, Val: buf[len(buf)-8 : len(buf) : len(buf)]}
			continue
		}
		out[i] = nft.SetElement{Key: key, VerdictData: verdictExpr(el.Verdict).(*expr.Verdict)}
	}
	return out
}

// addrElements encodes a set's addresses (each twice for a Pairs set).
func addrElements(s *Set, addrs []netip.Addr) []nft.SetElement {
	out := make([]nft.SetElement, len(addrs))
	for i, a := range addrs {
		key := ip4(a)
		if s.Pairs {
			key = append(key, ip4(a)...)
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
