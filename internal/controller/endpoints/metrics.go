package endpoints

import "github.com/prometheus/client_golang/prometheus"

// metrics are the controller's Prometheus collectors.
type metrics struct {
	syncs    prometheus.Counter
	duration prometheus.Histogram
	changes  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_endpoints_syncs_total",
			Help: "Services synced by the Endpoints controller.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "svcnet_endpoints_sync_duration_seconds",
			Help:    "Time taken to sync one Service's Endpoints.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_endpoints_changes_total",
			Help: "Endpoints objects written by the Endpoints controller, by operation (create, update, delete).",
		}, []string{"operation"}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.duration, m.changes)
	}
	return m
}
