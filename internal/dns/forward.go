package dns

import (
	"container/list"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Forwarder sends questions about names outside the cluster to the node's
// upstream resolvers, over UDP and again over TCP when the answer is
// truncated, and keeps answers in a bounded cache for their TTL.
type Forwarder struct {
	upstreams []string
	timeout   time.Duration
	metrics   *Metrics
	udp, tcp  *mdns.Client

	mu    sync.Mutex
	max   int
	lru   *list.List // of *cacheEntry, most recent first
	byKey map[cacheKey]*list.Element
	now   func() time.Time
}

type cacheKey struct {
	name  string
	qtype uint16
	do    bool
}

type cacheEntry struct {
	key     cacheKey
	msg     *mdns.Msg
	stored  time.Time
	expires time.Time
}

// Cache lifetimes: at most a day, and SERVFAIL-free; a negative answer without
// an SOA is kept briefly.
const (
	maxCacheTTL      = 24 * time.Hour
	negativeNoSOATTL = 5 * time.Second
)

// NewForwarder returns a forwarder to upstreams (host:port) with a cache of at
// most cacheSize answers (0: no cache).
func NewForwarder(upstreams []string, cacheSize int, metrics *Metrics) *Forwarder {
	timeout := 2 * time.Second
	return &Forwarder{
		upstreams: upstreams,
		timeout:   timeout,
		metrics:   metrics,
		udp:       &mdns.Client{Net: "udp", Timeout: timeout, UDPSize: 4096},
		tcp:       &mdns.Client{Net: "tcp", Timeout: timeout},
		max:       cacheSize,
		lru:       list.New(),
		byKey:     map[cacheKey]*list.Element{},
		now:       time.Now,
	}
}

// Upstreams reads the nameservers of a resolv.conf file as host:port.
func Upstreams(resolvConf string) ([]string, error) {
	data, err := os.ReadFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("read upstream resolvers: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, net.JoinHostPort(f[1], "53"))
		}
	}
	return out, nil
}

var errNoAnswer = errors.New("no upstream resolver answered")

// forward answers a whole query from the cache or the upstreams, writing the
// packed response into out.
func (f *Forwarder) forward(raw []byte, q *query, tcp bool, out []byte) ([]byte, int) {
	req := new(mdns.Msg)
	if err := req.Unpack(raw); err != nil || len(req.Question) != 1 {
		return f.fail(q, rcodeFormErr, out), rcodeFormErr
	}
	resp, err := f.resolve(req)
	if err != nil {
		return f.fail(q, rcodeServFail, out), rcodeServFail
	}
	resp.Id = req.Id
	resp.Question = req.Question // the client's spelling
	resp.RecursionAvailable = true
	resp.Authoritative = false
	resp.Compress = true
	if !tcp {
		size := minUDPSize
		if o := req.IsEdns0(); o != nil {
			size = min(max(int(o.UDPSize()), minUDPSize), maxUDPSize)
		}
		resp.Truncate(size)
	}
	packed, err := resp.PackBuffer(out)
	if err != nil {
		return f.fail(q, rcodeServFail, out), rcodeServFail
	}
	return packed, resp.Rcode
}

func (f *Forwarder) fail(q *query, rcode int, out []byte) []byte {
	var w writer
	w.begin(out, q, rcode, false, true)
	return w.finish()
}

// resolve returns an answer to req (a private copy), from the cache when it
// is fresh.
func (f *Forwarder) resolve(req *mdns.Msg) (*mdns.Msg, error) {
	qs := req.Question[0]
	key := cacheKey{name: strings.ToLower(qs.Name), qtype: qs.Qtype, do: req.IsEdns0() != nil && req.IsEdns0().Do()}
	if m := f.cached(key); m != nil {
		f.metrics.cache(true)
		return m, nil
	}
	f.metrics.cache(false)
	up := req.Copy()
	up.Id = mdns.Id()
	var lastErr error = errNoAnswer
	for _, server := range f.upstreams {
		resp, _, err := f.udp.Exchange(up, server)
		if err == nil && resp.Truncated {
			resp, _, err = f.tcp.Exchange(up, server)
		}
		if err != nil {
			f.metrics.upstreamError()
			lastErr = err
			continue
		}
		if resp.Rcode == mdns.RcodeServerFailure || resp.Rcode == mdns.RcodeRefused {
			lastErr = fmt.Errorf("upstream %s answered %s", server, mdns.RcodeToString[resp.Rcode])
			continue
		}
		f.store(key, resp)
		return resp.Copy(), nil
	}
	return nil, lastErr
}

// appendAddrs adds the A or AAAA records of an ExternalName target to the
// answer section, as far as the upstreams know them.
func (f *Forwarder) appendAddrs(w *writer, target []byte, q *query) {
	name := presentation(target)
	qtypes := []uint16{q.qtype}
	if q.qtype == typeANY {
		qtypes = []uint16{typeA, typeAAAA}
	}
	for _, t := range qtypes {
		req := new(mdns.Msg)
		req.SetQuestion(name, t)
		resp, err := f.resolve(req)
		if err != nil || resp.Rcode != mdns.RcodeSuccess {
			continue
		}
		for _, rr := range resp.Answer {
			var buf [512]byte
			n, err := mdns.PackRR(rr, buf[:], 0, nil, false)
			if err != nil {
				continue
			}
			w.buf = append(w.buf, buf[:n]...)
			w.count[secAnswer]++
		}
	}
}

// presentation turns a wire name into dotted text with a trailing dot.
func presentation(wire []byte) string {
	var b strings.Builder
	for i := 0; i < len(wire) && wire[i] != 0; i += 1 + int(wire[i]) {
		b.Write(wire[i+1 : i+1+int(wire[i])])
		b.WriteByte('.')
	}
	if b.Len() == 0 {
		return "."
	}
	return b.String()
}

func (f *Forwarder) cached(key cacheKey) *mdns.Msg {
	if f.max == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	el := f.byKey[key]
	if el == nil {
		return nil
	}
	e := el.Value.(*cacheEntry)
	now := f.now()
	if !now.Before(e.expires) {
		f.lru.Remove(el)
		delete(f.byKey, key)
		return nil
	}
	f.lru.MoveToFront(el)
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]mdns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if h := rr.Header(); h.Rrtype != mdns.TypeOPT {
				h.Ttl = max(h.Ttl, age) - age
			}
		}
	}
	return m
}

// store keeps resp for the smallest TTL of its records (the SOA minimum for
// a negative answer).
func (f *Forwarder) store(key cacheKey, resp *mdns.Msg) {
	if f.max == 0 || (resp.Rcode != mdns.RcodeSuccess && resp.Rcode != mdns.RcodeNameError) || resp.Truncated {
		return
	}
	ttl := maxCacheTTL
	seen := false
	for _, sec := range [][]mdns.RR{resp.Answer, resp.Ns} {
		for _, rr := range sec {
			t := time.Duration(rr.Header().Ttl) * time.Second
			if soa, ok := rr.(*mdns.SOA); ok && len(resp.Answer) == 0 {
				t = min(t, time.Duration(soa.Minttl)*time.Second)
			}
			ttl = min(ttl, t)
			seen = true
		}
	}
	if !seen {
		ttl = negativeNoSOATTL
	}
	if ttl <= 0 {
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if el := f.byKey[key]; el != nil {
		f.lru.Remove(el)
	}
	f.byKey[key] = f.lru.PushFront(&cacheEntry{key: key, msg: resp.Copy(), stored: now, expires: now.Add(ttl)})
	for f.lru.Len() > f.max {
		old := f.lru.Back()
		f.lru.Remove(old)
		delete(f.byKey, old.Value.(*cacheEntry).key)
	}
}
