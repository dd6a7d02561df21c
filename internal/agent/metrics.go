package agent

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	syncDuration *prometheus.HistogramVec
	syncErrors   prometheus.Counter
	changeToSync prometheus.Histogram
	servicePorts prometheus.Gauge
	lastSync     prometheus.Gauge
	heartbeats   *prometheus.CounterVec
	conflicts    prometheus.Gauge
	// fullSyncsSkipped counts periodic full syncs found unnecessary.
	fullSyncsSkipped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "svcnet_agent_sync_duration_seconds",
			Help:    "Time to build a snapshot and program the data plane, by kind (full, incremental).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"kind"}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_agent_sync_errors_total",
			Help: "Data plane syncs that failed (each is retried with back-off).",
		}),
		changeToSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "svcnet_agent_change_to_sync_seconds",
			Help:    "Time from the first informer event of a change to the end of the sync that programmed it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		servicePorts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "svcnet_agent_service_ports",
			Help: "Service ports programmed by the last successful sync.",
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "svcnet_agent_last_sync_timestamp_seconds",
			Help: "Unix time of the last successful data plane sync.",
		}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcnet_agent_node_heartbeats_total",
			Help: "Node Lease renewals, by result (ok, error).",
		}, []string{"result"}),
		fullSyncsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "svcnet_agent_full_syncs_skipped_total",
			Help: "Periodic full syncs not needed: the data plane could tell that nothing changed its rules since the last sync (for nftables: no commit but the agent's own).",
		}),
		conflicts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "svcnet_agent_conflicting_destinations",
			Help: "Destinations (address, port, protocol or node port) that more than one Service claims; each goes to one of them (see the agent's warnings).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.syncDuration, m.syncErrors, m.changeToSync, m.servicePorts, m.lastSync, m.heartbeats, m.conflicts, m.fullSyncsSkipped)
	}
	return m
}
