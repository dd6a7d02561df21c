package podgc

import "github.com/prometheus/client_golang/prometheus"

// Reasons a Pod is force-deleted; the values of the deletions and errors
// metrics' label.
const (
	reasonExpired     = "grace_expired"
	reasonOrphaned    = "orphaned"
	reasonUnscheduled = "unscheduled"
)

// metrics are the controller's Prometheus collectors.
type metrics struct {
	syncs      prometheus.Counter
	nodeChecks prometheus.Counter
	deletions  *prometheus.CounterVec
	errors     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_podgc_syncs_total",
			Help: "Terminating Pods examined by the pod garbage collector.",
		}),
		nodeChecks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_podgc_node_checks_total",
			Help: "Nodes missing from the cache examined by the pod garbage collector at the end of their quarantine.",
		}),
		deletions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_podgc_deletions_total",
			Help: "Pods force-deleted by the pod garbage collector, by reason (grace_expired, orphaned, unscheduled).",
		}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_podgc_errors_total",
			Help: "Failed status patches and deletes of the pod garbage collector, by reason (grace_expired, orphaned, unscheduled); they are retried.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.nodeChecks, m.deletions, m.errors)
	}
	return m
}
