package dns

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Config is the behaviour of a Handler.
type Config struct {
	// TTL of answers and the negative-caching time of the zone's SOA.
	TTL uint32
	// Pods selects how pod names (a-b-c-d.<ns>.pod.<zone>) are answered.
	Pods PodRecords
	// Allowed says whether a client may ask at all. nil allows everyone.
	Allowed func(netip.Addr) bool
	// RateLimit is the most queries per second one client address gets, with
	// a burst of as many; 0 disables the limit.
	RateLimit float64
}

// Handler answers DNS messages: names in the cluster domain and reverse names
// of cluster addresses from the Index, everything else through a Forwarder.
type Handler struct {
	ix      *Index
	cfg     Config
	fwd     *Forwarder
	metrics *Metrics
	limiter *rateLimiter
	ready   atomic.Bool
}

// NewHandler returns a handler over ix. fwd may be nil (names outside the
// cluster are then REFUSED); metrics may be nil.
func NewHandler(ix *Index, cfg Config, fwd *Forwarder, metrics *Metrics) *Handler {
	h := &Handler{ix: ix, cfg: cfg, fwd: fwd, metrics: metrics}
	if cfg.RateLimit > 0 {
		h.limiter = newRateLimiter(cfg.RateLimit)
	}
	return h
}

// SetReady marks the index as complete (the informers have synced). Until
// then questions about cluster names get SERVFAIL, never a false NXDOMAIN.
func (h *Handler) SetReady() { h.ready.Store(true) }

// Ready reports whether the index is complete.
func (h *Handler) Ready() bool { return h.ready.Load() }

// action tells the server what to do with a message.
type action int

const (
	reply action = iota // send the returned bytes
	drop                // send nothing
	async               // call again with mayBlock, off the fast path
)

// Options of one call to handle.
const (
	viaTCP   = 1 << iota // the size limit is TCP's
	mayBlock             // the answer may wait on the network
	counted              // the rate limiter has seen this query already
)

// handle answers one message from src into out. When the answer needs the
// network (forwarding) and opts lacks mayBlock it returns async and does
// nothing else.
func (h *Handler) handle(msg []byte, src netip.Addr, opts int, q *query, w *writer, out []byte) ([]byte, action) {
	start := time.Now()
	tcp, blocking := opts&viaTCP != 0, opts&mayBlock != 0
	err := parseQuery(msg, q)
	if err == errDrop {
		h.metrics.dropped(dropMalformed)
		return nil, drop
	}
	if h.cfg.Allowed != nil && !h.cfg.Allowed(src) {
		h.metrics.dropped(dropRefused)
		return h.short(w, q, out, rcodeRefused, err == nil), reply
	}
	if h.limiter != nil && opts&counted == 0 && !h.limiter.allow(src, start) {
		h.metrics.dropped(dropRateLimited)
		return nil, drop
	}
	if err != nil {
		return h.done(start, q, h.short(w, q, out, rcodeFormErr, false), rcodeFormErr, true), reply
	}
	if q.opcode != 0 {
		return h.done(start, q, h.short(w, q, out, rcodeNotImp, true), rcodeNotImp, true), reply
	}
	if q.edns && q.ednsVer > 0 {
		w.begin(out, q, 0, false, false)
		w.opt(rcodeBadVers, q.dnssecOK)
		return h.done(start, q, w.finish(), rcodeBadVers, true), reply
	}
	if q.qclass != classIN || q.qtype == typeAXFR || q.qtype == typeIXFR {
		return h.done(start, q, h.short(w, q, out, rcodeRefused, true), rcodeRefused, true), reply
	}
	ttl := h.cfg.TTL
	w.begin(out, q, rcodeSuccess, true, h.fwd != nil)
	outcome, zone, chase := h.ix.lookup(w, q, ttl, h.cfg.Pods)
	if outcome != notOurs && !h.ready.Load() {
		return h.done(start, q, h.short(w, q, out, rcodeServFail, true), rcodeServFail, true), reply
	}
	rcode := rcodeSuccess
	switch outcome {
	case found:
		if chase == nil {
			break
		}
		if addrs, inZone := h.ix.localTarget(chase); inZone {
			for _, ip := range addrs {
				if (ip.Is4() && q.qtype != typeAAAA) || (ip.Is6() && q.qtype != typeA) {
					w.addr(secAnswer, chase, ttl, ip.AsSlice())
				}
			}
			break
		}
		if h.fwd != nil {
			if !blocking {
				return nil, async
			}
			h.fwd.appendAddrs(w, chase, q)
		}
	case noData, nxDomain:
		if outcome == nxDomain {
			rcode = rcodeNXDomain
			w.setRcode(rcode)
		}
		h.ix.writeSOA(w, secAuthority, zone, ttl)
	case notOurs:
		if h.fwd == nil {
			return h.done(start, q, h.short(w, q, out, rcodeRefused, true), rcodeRefused, true), reply
		}
		if !blocking {
			return nil, async
		}
		resp, rc := h.fwd.forward(msg, q, tcp, out)
		return h.done(start, q, resp, rc, false), reply
	}
	if q.edns {
		w.opt(0, q.dnssecOK)
	}
	resp := w.finish()
	if limit := q.sizeLimit(tcp); len(resp) > limit {
		h.metrics.truncated()
		resp = h.truncate(w, q, out)
	}
	return h.done(start, q, resp, rcode, true), reply
}

// sizeLimit is the largest response q may get.
func (q *query) sizeLimit(tcp bool) int {
	switch {
	case tcp:
		return maxMsgSize
	case !q.edns:
		return minUDPSize
	case q.udpSize > maxUDPSize:
		return maxUDPSize
	}
	return q.udpSize
}

// truncate replaces the response with an empty one that has TC set: the
// client asks again over TCP.
func (h *Handler) truncate(w *writer, q *query, out []byte) []byte {
	rcode := int(w.buf[3] & 0xf)
	w.begin(out, q, rcode, true, h.fwd != nil)
	w.buf[2] |= 0x02 // TC
	if q.edns {
		w.opt(0, q.dnssecOK)
	}
	return w.finish()
}

// short writes a response with rcode and no records (with the question when
// it was readable).
func (h *Handler) short(w *writer, q *query, out []byte, rcode int, withQuestion bool) []byte {
	if !withQuestion {
		q.question = nil
	}
	w.begin(out, q, rcode, false, h.fwd != nil)
	if withQuestion && q.edns {
		w.opt(0, q.dnssecOK)
	}
	return w.finish()
}

// done counts a response.
func (h *Handler) done(start time.Time, q *query, resp []byte, rcode int, local bool) []byte {
	h.metrics.answered(q.qtype, rcode, time.Since(start), local)
	return resp
}
