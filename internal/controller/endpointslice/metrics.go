package endpointslice

import "github.com/prometheus/client_golang/prometheus"

// Sync results, the values of the result label of svcnet_endpointslice_syncs_total.
const (
	resultSuccess = "success"
	resultError   = "error"
	resultStale   = "stale"
)

// metrics are the controller's Prometheus metrics:
//
//	svcnet_endpointslice_syncs_total{result}          Service syncs by result (success, error, stale)
//	svcnet_endpointslice_sync_duration_seconds        time one Service sync took
//	svcnet_endpointslice_changes_total{operation}     slice writes (create, update, delete)
//	svcnet_endpointslice_endpoints_changed_total      endpoints added, changed or removed by writes
type metrics struct {
	syncs     *prometheus.CounterVec
	duration  prometheus.Histogram
	changes   *prometheus.CounterVec
	endpoints prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_endpointslice_syncs_total",
			Help: "Service syncs of the EndpointSlice controller, by result.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "svcnet_endpointslice_sync_duration_seconds",
			Help:    "Time one Service sync of the EndpointSlice controller took.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_endpointslice_changes_total",
			Help: "EndpointSlice writes of the EndpointSlice controller, by operation.",
		}, []string{"operation"}),
		endpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_endpointslice_endpoints_changed_total",
			Help: "Endpoints added, changed or removed by the EndpointSlice controller's writes.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.duration, m.changes, m.endpoints)
	}
	return m
}
