package dns

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the DNS server's Prometheus metrics. A nil *Metrics counts
// nothing.
type Metrics struct {
	responses    [len(metricTypes)][len(metricRcodes)]prometheus.Counter
	duration     [2]prometheus.Observer // local, forwarded
	drops        [4]prometheus.Counter
	truncations  prometheus.Counter
	cacheHits    prometheus.Counter
	cacheMisses  prometheus.Counter
	upstreamErrs prometheus.Counter
}

var (
	metricTypes  = [...]string{"A", "AAAA", "SRV", "PTR", "TXT", "CNAME", "SOA", "NS", "ANY", "other"}
	metricRcodes = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"}
)

const (
	dropMalformed = iota
	dropRefused
	dropRateLimited
	dropOverloaded
)

// NewMetrics registers the DNS metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcnet_dns_responses_total",
		Help: "DNS responses sent, by question type and response code.",
	}, []string{"qtype", "rcode"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "svcnet_dns_request_duration_seconds",
		Help:    "Time to answer a DNS query, from its arrival to its response, by source of the answer (cluster or upstream).",
		Buckets: []float64{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2},
	}, []string{"source"})
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcnet_dns_dropped_total",
		Help: "DNS queries not answered normally: malformed (dropped), refused (client outside the node and pod networks), rate_limited (dropped), overloaded (dropped: too many forwarded queries in flight).",
	}, []string{"reason"})
	m := &Metrics{
		truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_dns_truncated_total",
			Help: "UDP responses cut to an empty answer with TC set because they did not fit.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_dns_forward_cache_hits_total",
			Help: "Forwarded queries answered from the cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_dns_forward_cache_misses_total",
			Help: "Forwarded queries sent to an upstream resolver.",
		}),
		upstreamErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_dns_upstream_errors_total",
			Help: "Exchanges with an upstream resolver that failed (timeout, refused connection, bad answer).",
		}),
	}
	for i, t := range metricTypes {
		for j, r := range metricRcodes {
			m.responses[i][j] = responses.WithLabelValues(t, r)
		}
	}
	m.duration[0] = duration.WithLabelValues("cluster")
	m.duration[1] = duration.WithLabelValues("upstream")
	for i, r := range []string{"malformed", "refused", "rate_limited", "overloaded"} {
		m.drops[i] = drops.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(responses, duration, drops, m.truncations, m.cacheHits, m.cacheMisses, m.upstreamErrs)
	}
	return m
}

func typeIndex(t uint16) int {
	switch t {
	case typeA:
		return 0
	case typeAAAA:
		return 1
	case typeSRV:
		return 2
	case typePTR:
		return 3
	case typeTXT:
		return 4
	case typeCNAME:
		return 5
	case typeSOA:
		return 6
	case typeNS:
		return 7
	case typeANY:
		return 8
	}
	return 9
}

func rcodeIndex(rc int) int {
	switch {
	case rc >= 0 && rc <= 5:
		return rc
	case rc == rcodeBadVers:
		return 6
	}
	return 7
}

func (m *Metrics) answered(qtype uint16, rcode int, took time.Duration, local bool) {
	if m == nil {
		return
	}
	m.responses[typeIndex(qtype)][rcodeIndex(rcode)].Inc()
	src := 0
	if !local {
		src = 1
	}
	m.duration[src].Observe(took.Seconds())
}

func (m *Metrics) dropped(reason int) {
	if m != nil {
		m.drops[reason].Inc()
	}
}

func (m *Metrics) truncated() {
	if m != nil {
		m.truncations.Inc()
	}
}

func (m *Metrics) cache(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.cacheHits.Inc()
	} else {
		m.cacheMisses.Inc()
	}
}

func (m *Metrics) upstreamError() {
	if m != nil {
		m.upstreamErrs.Inc()
	}
}
