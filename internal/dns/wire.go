package dns

import (
	"encoding/binary"
	"errors"
)

// Record types, classes and response codes used on the wire (RFC 1035, 2782,
// 3596, 6891).
const (
	typeA     uint16 = 1
	typeNS    uint16 = 2
	typeCNAME uint16 = 5
	typeSOA   uint16 = 6
	typePTR   uint16 = 12
	typeTXT   uint16 = 16
	typeAAAA  uint16 = 28
	typeSRV   uint16 = 33
	typeOPT   uint16 = 41
	typeIXFR  uint16 = 251
	typeAXFR  uint16 = 252
	typeANY   uint16 = 255

	classIN uint16 = 1

	rcodeSuccess  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
	rcodeBadVers  = 16 // extended: 1 in the OPT record, 0 in the header

	headerLen = 12
	// maxUDPSize is what svcnet advertises and the most it sends over UDP:
	// the DNS flag day 2020 recommendation, which avoids IP fragmentation.
	maxUDPSize = 1232
	minUDPSize = 512
	// maxMsgSize bounds every message, TCP included.
	maxMsgSize = 65535
)

// errDrop marks a packet that gets no answer at all: too short to carry an ID,
// or itself a response.
var errDrop = errors.New("not a query")

// errFormat marks a query whose header is readable but whose body is not.
var errFormat = errors.New("malformed query")

// query is one parsed request. name is the question name in wire form as the
// client sent it; lower is the same name lower-cased, for lookups.
type query struct {
	id     uint16
	flags  uint16 // as received
	opcode uint8
	name   []byte
	lower  []byte
	qtype  uint16
	qclass uint16
	// question is the whole question section as received (name, type, class),
	// echoed verbatim so the answer keeps the client's spelling.
	question []byte
	// edns is set when the query carries an OPT record.
	edns     bool
	ednsVer  uint8
	udpSize  int
	dnssecOK bool
	lowerBuf [255]byte
	// labels are the lower-cased labels (without length bytes); loff[i] is
	// the offset of label i's length byte in lower.
	labels   [][]byte
	labelBuf [127][]byte
	loff     [128]uint8
}

// tail returns the lower-cased wire name from label i on.
func (q *query) tail(i int) []byte {
	if i >= len(q.labels) {
		return q.lower[len(q.lower)-1:]
	}
	return q.lower[q.loff[i]:]
}

// parseQuery reads the header, the one question and an OPT record from msg.
// It returns errDrop when no answer should be sent, and errFormat (with the
// header fields it could read filled in) when the answer is FORMERR.
func parseQuery(msg []byte, q *query) error {
	if len(msg) < headerLen {
		return errDrop
	}
	q.id = binary.BigEndian.Uint16(msg[0:])
	q.flags = binary.BigEndian.Uint16(msg[2:])
	if q.flags&0x8000 != 0 { // QR: a response, never answered (no reflection loops)
		return errDrop
	}
	q.opcode = uint8(q.flags>>11) & 0xf
	q.question, q.name, q.lower, q.labels = nil, nil, nil, nil
	q.qtype, q.qclass = 0, 0
	q.edns, q.ednsVer, q.udpSize, q.dnssecOK = false, 0, minUDPSize, false
	qd := binary.BigEndian.Uint16(msg[4:])
	an := binary.BigEndian.Uint16(msg[6:])
	ns := binary.BigEndian.Uint16(msg[8:])
	ar := binary.BigEndian.Uint16(msg[10:])
	if qd != 1 {
		return errFormat
	}
	off := headerLen
	// The question name: uncompressed labels (there is nothing earlier to point to).
	n, nl := 0, 0
	for {
		if off >= len(msg) {
			return errFormat
		}
		l := int(msg[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 { // compression pointer or reserved label type
			return errFormat
		}
		if off+1+l > len(msg) || n+1+l+1 > 255 {
			return errFormat
		}
		q.lowerBuf[n] = byte(l)
		q.loff[nl] = uint8(n)
		nl++
		for i := 0; i < l; i++ {
			c := msg[off+1+i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			q.lowerBuf[n+1+i] = c
		}
		n += 1 + l
		off += 1 + l
	}
	q.lowerBuf[n] = 0
	n++
	q.name = msg[headerLen:off]
	q.lower = q.lowerBuf[:n]
	q.labels = q.labelBuf[:nl]
	for i := 0; i < nl; i++ {
		o := int(q.loff[i])
		q.labels[i] = q.lower[o+1 : o+1+int(q.lower[o])]
	}
	if off+4 > len(msg) {
		return errFormat
	}
	q.qtype = binary.BigEndian.Uint16(msg[off:])
	q.qclass = binary.BigEndian.Uint16(msg[off+2:])
	off += 4
	q.question = msg[headerLen:off]
	// Skip answer and authority records (a query should have none), then look
	// for the OPT record among the additional ones.
	for i := 0; i < int(an)+int(ns)+int(ar); i++ {
		var rtype, class uint16
		var ttl uint32
		var err error
		off, rtype, class, ttl, err = skipRR(msg, off)
		if err != nil {
			return errFormat
		}
		if rtype != typeOPT {
			continue
		}
		if i < int(an)+int(ns) || q.edns {
			return errFormat // OPT outside the additional section, or twice
		}
		q.edns = true
		q.udpSize = int(class)
		q.ednsVer = uint8(ttl >> 16)
		q.dnssecOK = ttl&0x8000 != 0
	}
	if q.udpSize < minUDPSize {
		q.udpSize = minUDPSize
	}
	return nil
}

// skipRR steps over one resource record starting at off and returns the offset
// after it with its type, class and TTL. An OPT record must have the root name.
func skipRR(msg []byte, off int) (next int, rtype, class uint16, ttl uint32, err error) {
	nameStart := off
	for {
		if off >= len(msg) {
			return 0, 0, 0, 0, errFormat
		}
		l := int(msg[off])
		if l == 0 {
			off++
			break
		}
		if l&0xc0 == 0xc0 { // a pointer ends the name
			off += 2
			break
		}
		if l > 63 {
			return 0, 0, 0, 0, errFormat
		}
		off += 1 + l
	}
	if off+10 > len(msg) {
		return 0, 0, 0, 0, errFormat
	}
	rtype = binary.BigEndian.Uint16(msg[off:])
	class = binary.BigEndian.Uint16(msg[off+2:])
	ttl = binary.BigEndian.Uint32(msg[off+4:])
	rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
	off += 10
	if off+rdlen > len(msg) {
		return 0, 0, 0, 0, errFormat
	}
	if rtype == typeOPT && off-10-nameStart != 1 {
		return 0, 0, 0, 0, errFormat
	}
	return off + rdlen, rtype, class, ttl, nil
}

// writer builds a response in place. Names are written in wire form and
// compressed against the question and every name written before.
type writer struct {
	buf   []byte
	count [3]uint16 // answer, authority, additional
	// comp maps lower-cased wire suffixes to their offsets in buf.
	compN    int
	compKeys [32][]byte
	compOffs [32]uint16
}

// begin starts a response to q with rcode; aa sets the authoritative bit and
// ra the recursion-available bit.
func (w *writer) begin(buf []byte, q *query, rcode int, aa, ra bool) {
	w.buf = buf[:0]
	w.count = [3]uint16{}
	w.compN = 0
	flags := uint16(0x8000) | q.flags&0x7900 // QR, opcode, RD
	flags |= q.flags & 0x0010                // CD
	if aa {
		flags |= 0x0400
	}
	if ra {
		flags |= 0x0080
	}
	flags |= uint16(rcode & 0xf)
	w.buf = append(w.buf, byte(q.id>>8), byte(q.id), byte(flags>>8), byte(flags), 0, 0, 0, 0, 0, 0, 0, 0)
	if q.question != nil {
		w.buf[5] = 1
		w.buf = append(w.buf, q.question...)
		w.addSuffixes(q.lower, headerLen)
	}
}

// setRcode replaces the header's response code.
func (w *writer) setRcode(rcode int) {
	w.buf[3] = w.buf[3]&0xf0 | byte(rcode&0xf)
}

// addSuffixes remembers every suffix of the lower-cased wire name written at
// off, for later names to point to.
func (w *writer) addSuffixes(lower []byte, off int) { w.addSuffixesBefore(lower, off, len(lower)) }

// addSuffixesBefore remembers the suffixes of lower that start before limit.
func (w *writer) addSuffixesBefore(lower []byte, off, limit int) {
	for i := 0; i < limit && i < len(lower) && lower[i] != 0; i += 1 + int(lower[i]) {
		if off+i >= 0x3fff || w.compN == len(w.compKeys) {
			return
		}
		w.compKeys[w.compN] = lower[i:]
		w.compOffs[w.compN] = uint16(off + i)
		w.compN++
	}
}

// name writes a lower-case wire name, compressed.
func (w *writer) name(n []byte) {
	start := len(w.buf)
	for i := 0; i < len(n); i += 1 + int(n[i]) {
		if n[i] == 0 {
			w.buf = append(w.buf, n...)
			w.addSuffixes(n, start)
			return
		}
		suffix := n[i:]
		for k := 0; k < w.compN; k++ {
			if string(w.compKeys[k]) == string(suffix) {
				w.buf = append(w.buf, n[:i]...)
				w.buf = append(w.buf, 0xc0|byte(w.compOffs[k]>>8), byte(w.compOffs[k]))
				w.addSuffixesBefore(n, start, i)
				return
			}
		}
	}
}

// qnamePtr writes a pointer to the question name.
func (w *writer) qnamePtr() { w.buf = append(w.buf, 0xc0, headerLen) }

// rrHeader writes type, class, TTL and a placeholder length after an owner
// name, returning the offset of the length.
func (w *writer) rrHeader(rtype uint16, ttl uint32) int {
	w.buf = append(w.buf, byte(rtype>>8), byte(rtype), 0, byte(classIN),
		byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl), 0, 0)
	return len(w.buf) - 2
}

// rrEnd fills in the record's data length and counts it in section s.
func (w *writer) rrEnd(lenAt int, s int) {
	l := len(w.buf) - lenAt - 2
	w.buf[lenAt], w.buf[lenAt+1] = byte(l>>8), byte(l)
	w.count[s]++
}

const (
	secAnswer = iota
	secAuthority
	secAdditional
)

// addr writes an A or AAAA record for owner (nil: the question name).
func (w *writer) addr(s int, owner []byte, ttl uint32, ip []byte) {
	if owner == nil {
		w.qnamePtr()
	} else {
		w.name(owner)
	}
	w.addrData(s, ttl, ip)
}

// addrData writes the rest of an address record after its owner.
func (w *writer) addrData(s int, ttl uint32, ip []byte) {
	rtype := typeA
	if len(ip) == 16 {
		rtype = typeAAAA
	}
	at := w.rrHeader(rtype, ttl)
	w.buf = append(w.buf, ip...)
	w.rrEnd(at, s)
}

// nameRR writes a record whose data is one name (CNAME, PTR, NS).
func (w *writer) nameRR(s int, owner []byte, rtype uint16, ttl uint32, target []byte) {
	if owner == nil {
		w.qnamePtr()
	} else {
		w.name(owner)
	}
	at := w.rrHeader(rtype, ttl)
	w.name(target)
	w.rrEnd(at, s)
}

// nameUnder writes label (if any) followed by the wire name suffix,
// compressing the suffix.
func (w *writer) nameUnder(label string, suffix []byte) {
	w.label(label)
	w.name(suffix)
}

// label writes one uncompressed label (nothing for "").
func (w *writer) label(l string) {
	if l != "" {
		w.buf = append(w.buf, byte(len(l)))
		w.buf = append(w.buf, l...)
	}
}

// addrUnder writes an A or AAAA record owned by label.suffix.
func (w *writer) addrUnder(s int, label string, suffix []byte, ttl uint32, ip []byte) {
	w.nameUnder(label, suffix)
	w.addrData(s, ttl, ip)
}

// srv writes an SRV record owned by the question name, with the target
// label.suffix not compressed, as RFC 2782 asks.
func (w *writer) srv(ttl uint32, prio, weight, port uint16, label string, suffix []byte) {
	w.qnamePtr()
	at := w.rrHeader(typeSRV, ttl)
	w.buf = append(w.buf, byte(prio>>8), byte(prio), byte(weight>>8), byte(weight), byte(port>>8), byte(port))
	w.label(label)
	w.addSuffixes(suffix, len(w.buf))
	w.buf = append(w.buf, suffix...)
	w.rrEnd(at, secAnswer)
}

// txt writes a TXT record of one string owned by the question name.
func (w *writer) txt(ttl uint32, s string) {
	w.qnamePtr()
	at := w.rrHeader(typeTXT, ttl)
	w.buf = append(w.buf, byte(len(s)))
	w.buf = append(w.buf, s...)
	w.rrEnd(at, secAnswer)
}

// soa writes the zone's SOA record in section s.
func (w *writer) soa(s int, zone []byte, ttl uint32, mname, rname []byte, serial, minimum uint32) {
	w.name(zone)
	at := w.rrHeader(typeSOA, ttl)
	w.name(mname)
	w.name(rname)
	for _, v := range [5]uint32{serial, 7200, 1800, 86400, minimum} {
		w.buf = binary.BigEndian.AppendUint32(w.buf, v)
	}
	w.rrEnd(at, s)
}

// opt writes the response's OPT record (RFC 6891): our UDP size, the extended
// rcode's upper bits and the client's DO bit.
func (w *writer) opt(extRcode int, dnssecOK bool) {
	var flags byte
	if dnssecOK {
		flags = 0x80
	}
	w.buf = append(w.buf, 0, byte(typeOPT>>8), byte(typeOPT), byte(maxUDPSize>>8), byte(maxUDPSize&0xff),
		byte(extRcode>>4), 0, flags, 0, 0, 0)
	w.count[secAdditional]++
}

// finish writes the section counts and returns the message.
func (w *writer) finish() []byte {
	binary.BigEndian.PutUint16(w.buf[6:], w.count[0])
	binary.BigEndian.PutUint16(w.buf[8:], w.count[1])
	binary.BigEndian.PutUint16(w.buf[10:], w.count[2])
	return w.buf
}
