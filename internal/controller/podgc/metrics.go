package podgc

import "github.com/prometheus/client_golang/prometheus"

// Reasons a Pod is force-deleted; the values of the deletions metric's label.
const (
	reasonExpired     = "grace_expired"
	reasonOrphaned    = "orphaned"
	reasonUnscheduled = "unscheduled"
)

// metrics are the controller's Prometheus collectors.
type metrics struct {
	syncs     prometheus.Counter
	deletions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_podgc_syncs_total",
			Help: "Terminating Pods examined by the pod garbage collector.",
		}),
		deletions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_podgc_deletions_total",
			Help: "Pods force-deleted by the pod garbage collector, by reason (grace_expired, orphaned, unscheduled).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.deletions)
	}
	return m
}
