package dns

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client address: rate tokens a second, at
// most rate in store. Buckets that have refilled are forgotten when the table
// grows, so a scan of many sources cannot grow it without bound.
type rateLimiter struct {
	rate float64
	mu   sync.Mutex
	b    map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const limiterSweepAt = 10000

func newRateLimiter(rate float64) *rateLimiter {
	return &rateLimiter{rate: rate, b: map[netip.Addr]*bucket{}}
}

// allow takes a token for src at now, reporting whether there was one.
func (l *rateLimiter) allow(src netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[src]
	if b == nil {
		if len(l.b) >= limiterSweepAt {
			l.sweep(now)
		}
		b = &bucket{tokens: l.rate, last: now}
		l.b[src] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.rate {
		b.tokens = l.rate
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets the buckets that are full again.
func (l *rateLimiter) sweep(now time.Time) {
	for a, b := range l.b {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.rate {
			delete(l.b, a)
		}
	}
}
