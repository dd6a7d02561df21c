package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"
)

// The checks before the runs need a DNS client for a handful of queries. This
// is the least of one (RFC 1035 wire format, UDP, no EDNS), so that the
// benchmark needs no DNS library of its own.

const (
	typeA   = 1
	typePTR = 12
	typeSRV = 33

	rcodeSuccess  = 0
	rcodeNXDomain = 3
)

var rcodeNames = map[int]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

func rcodeName(rc int) string {
	if n, ok := rcodeNames[rc]; ok {
		return n
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// rr is one answer record: its type, and its data as text (an address for A,
// the target name for PTR and SRV).
type rr struct {
	typ  int
	data string
}

type reply struct {
	rcode   int
	answers []rr
}

// exchange sends one query for name/typ to server over UDP and returns the reply.
func exchange(server, name string, typ int, timeout time.Duration) (reply, error) {
	id := uint16(rand.Uint32())
	q, err := packQuery(id, name, typ)
	if err != nil {
		return reply{}, err
	}
	c, err := net.Dial("udp", server)
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return reply{}, err
	}
	if _, err := c.Write(q); err != nil {
		return reply{}, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return reply{}, err
		}
		if n >= 2 && binary.BigEndian.Uint16(buf) == id {
			return parseReply(buf[:n])
		}
	}
}

func packQuery(id uint16, name string, typ int) ([]byte, error) {
	b := make([]byte, 12, 12+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], 0x0100) // RD
	binary.BigEndian.PutUint16(b[4:], 1)      // QDCOUNT
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if len(label) == 0 || len(label) > 63 {
			return nil, fmt.Errorf("bad name %q", name)
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0, byte(typ>>8), byte(typ), 0, 1) // root, QTYPE, QCLASS IN
	return b, nil
}

var errShort = errors.New("short DNS message")

func parseReply(m []byte) (reply, error) {
	if len(m) < 12 {
		return reply{}, errShort
	}
	r := reply{rcode: int(m[3] & 0x0f)}
	qd, an := int(binary.BigEndian.Uint16(m[4:])), int(binary.BigEndian.Uint16(m[6:]))
	off := 12
	for range qd {
		_, next, err := readName(m, off)
		if err != nil {
			return reply{}, err
		}
		off = next + 4
	}
	for range an {
		_, next, err := readName(m, off)
		if err != nil {
			return reply{}, err
		}
		off = next
		if off+10 > len(m) {
			return reply{}, errShort
		}
		typ := int(binary.BigEndian.Uint16(m[off:]))
		rdlen := int(binary.BigEndian.Uint16(m[off+8:]))
		rd := off + 10
		if rd+rdlen > len(m) {
			return reply{}, errShort
		}
		var data string
		switch typ {
		case typeA:
			if rdlen == 4 {
				data = netip.AddrFrom4([4]byte(m[rd : rd+4])).String()
			}
		case typePTR:
			data, _, err = readName(m, rd)
		case typeSRV:
			if rdlen > 6 {
				data, _, err = readName(m, rd+6)
			}
		}
		if err != nil {
			return reply{}, err
		}
		r.answers = append(r.answers, rr{typ: typ, data: data})
		off = rd + rdlen
	}
	return r, nil
}

// readName reads the (possibly compressed) name at off and returns it with a
// trailing dot, and the offset just after it where it started.
func readName(m []byte, off int) (string, int, error) {
	var sb strings.Builder
	end, jumps := -1, 0
	for {
		if off >= len(m) {
			return "", 0, errShort
		}
		l := int(m[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if sb.Len() == 0 {
				sb.WriteByte('.')
			}
			return sb.String(), end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(m) || jumps > 20 {
				return "", 0, errShort
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(m[off:]) & 0x3fff)
			jumps++
		default:
			if off+1+l > len(m) {
				return "", 0, errShort
			}
			sb.Write(m[off+1 : off+1+l])
			sb.WriteByte('.')
			off += 1 + l
		}
	}
}

// of returns the data of the answers of type typ.
func (r reply) of(typ int) []string {
	var out []string
	for _, a := range r.answers {
		if a.typ == typ {
			out = append(out, a.data)
		}
	}
	return out
}

// reverseName is the in-addr.arpa name of an IPv4 address.
func reverseName(ip string) string {
	a := netip.MustParseAddr(ip).As4()
	return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", a[3], a[2], a[1], a[0])
}
