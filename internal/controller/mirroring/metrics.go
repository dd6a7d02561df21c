package mirroring

import "github.com/prometheus/client_golang/prometheus"

// metrics are the controller's Prometheus collectors.
type metrics struct {
	syncs    prometheus.Counter
	duration prometheus.Histogram
	changes  *prometheus.CounterVec
	skipped  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_mirroring_syncs_total",
			Help: "Endpoints objects synced by the mirroring controller.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "svcnet_mirroring_sync_duration_seconds",
			Help:    "Time taken to mirror one Endpoints object.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_mirroring_changes_total",
			Help: "EndpointSlices written by the mirroring controller, by operation (create, update, delete).",
		}, []string{"operation"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_mirroring_addresses_skipped_total",
			Help: "Endpoints addresses not mirrored because they were invalid or over the per-subset limit, summed over syncs.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.duration, m.changes, m.skipped)
	}
	return m
}
