package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// restartResult is what the stop and start on the same data measured. Times marked
// "from start" run from just before the new process was started.
type restartResult struct {
	shutdown time.Duration // SIGTERM to exit of the old process
	killed   bool          // it had to be SIGKILLed
	apiReady time.Duration // from start: the `kubernetes` Service can be read
	// probeSeen is from start until the slice shows the probe flip, which is made as
	// soon as the API is ready; probeLat is from the flip's status write to that.
	probeSeen, probeLat time.Duration
	probeEpSeen         time.Duration // from start, the probe flip in Endpoints
	probeMissed         bool
	// sliceSynced and epSynced are from start until each controller has finished as
	// many successful syncs as there are bench Services; sliceFirst until the
	// EndpointSlice controller finished its first (its caches are synced by then).
	sliceFirst, sliceSynced, epSynced time.Duration
	// Writes seen on a watch from the last revision before the stop, through the
	// restart and settle: on the probe's Service and on any other.
	probeWrites, otherWrites     int
	probeEpWrites, otherEpWrites int
	// Objects whose resourceVersion differs after the restart (probe's left out),
	// out of how many.
	changedSlices, slices       int
	changedEndpoints, endpoints int
	metricSlice, metricEps      float64   // the restarted controllers' write counters
	mem                         memSample // the restarted server, synced and settled
	probe                       string    // ns/name of the probe's Service
	// The controllers' Lease as the restarted server found it, and when that server
	// acquired it (from start).
	leaseHolder   string
	leaseRenewed  time.Time
	leaseAcquired time.Duration
	started       time.Time // when the new process was started
}

// leaseName is the Lease in kube-system that elects the server running controllers.
const leaseName = "svcnet-controller-manager"

// versions maps ns/name to resourceVersion.
type versions map[string]string

// snapshotVersions lists the managed slices of all namespaces and the Endpoints of
// the bench namespaces; it returns the slices' list resourceVersion.
func snapshotVersions(ctx context.Context, cs kubernetes.Interface, l layout) (slicesRV versions, eps versions, rv string, err error) {
	slicesRV, eps = versions{}, versions{}
	opts := metav1.ListOptions{LabelSelector: managedBy, Limit: 500}
	for {
		list, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, opts)
		if err != nil {
			return nil, nil, "", fmt.Errorf("list endpointslices: %w", err)
		}
		if rv == "" {
			rv = list.ResourceVersion
		}
		for _, s := range list.Items {
			slicesRV[s.Namespace+"/"+s.Name] = s.ResourceVersion
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	for i := range min(l.namespaces, l.services) {
		ns := l.namespace(i)
		list, err := cs.CoreV1().Endpoints(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, nil, "", fmt.Errorf("list endpoints in %s: %w", ns, err)
		}
		for _, e := range list.Items {
			eps[ns+"/"+e.Name] = e.ResourceVersion
		}
	}
	return slicesRV, eps, rv, nil
}

// changed counts the keys whose version differs (or that appeared or went) between
// before and after, leaving out the keys skip says yes to.
func changed(before, after versions, skip func(key string) bool) int {
	n := 0
	for k, v := range before {
		if !skip(k) && after[k] != v {
			n++
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && !skip(k) {
			n++
		}
	}
	return n
}

// measureRestart stops the server, starts it on the same data, flips one Pod as
// soon as the API answers, and waits for the controllers to reflect it and to get
// through every Service. Every slice and Endpoints write from the last revision
// before the stop until settle after that is counted.
func measureRestart(ctx context.Context, cfg config, srv *server, st *pods) (restartResult, error) {
	var res restartResult
	l := st.l
	restCfg, err := srv.restConfig()
	if err != nil {
		return res, err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	if err := quiesce(ctx, cs.CoreV1().RESTClient(), 2*time.Second, 2*time.Minute); err != nil {
		return res, err
	}
	slicesBefore, epsBefore, rv0, err := snapshotVersions(ctx, cs, l)
	if err != nil {
		return res, err
	}
	res.slices, res.endpoints = len(slicesBefore), len(epsBefore)

	progress("restart: stopping server pid %d", srv.pid())
	res.shutdown, res.killed = srv.stop()
	if err := srv.start(); err != nil {
		return res, err
	}
	progress("restart: started pid %d", srv.pid())
	t0 := srv.started
	res.started = t0
	readyAt, err := srv.ready(ctx, 5*time.Minute)
	if err != nil {
		return res, err
	}
	res.apiReady = readyAt.Sub(t0)

	if restCfg, err = srv.restConfig(); err != nil {
		return res, err
	}
	if cs, err = kubernetes.NewForConfig(restCfg); err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	// The sync counters are followed from now on, so that the first sync is seen
	// even while this waits for the probe.
	syncs := make(chan syncTimes, 1)
	go func() { syncs <- followSyncs(ctx, cs.CoreV1().RESTClient(), l.services, t0, 5*time.Minute) }()
	rec := newRecorder()
	if err := rec.openWatches(ctx, restCfg, rv0); err != nil {
		return res, err
	}
	defer rec.close()
	if lease, err := cs.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, leaseName, metav1.GetOptions{}); err == nil {
		if lease.Spec.HolderIdentity != nil {
			res.leaseHolder = *lease.Spec.HolderIdentity
		}
		if lease.Spec.RenewTime != nil {
			res.leaseRenewed = lease.Spec.RenewTime.Time
		}
	}

	rng := rand.New(rand.NewPCG(cfg.seed, 0x7265737461727421))
	g := rng.IntN(l.total())
	want := !st.ready[g]
	res.probe = serviceOf(l, g)
	se := rec.expect(kindSlice, podIP(g), want)
	ee := rec.expect(kindEndpoints, podIP(g), want)
	flip := time.Now()
	if err := st.setReady(ctx, cs, g, want); err != nil {
		return res, fmt.Errorf("probe flip: %w", err)
	}
	const probeTimeout = 5 * time.Minute
	d, ok, err := rec.await(ctx, se, flip, probeTimeout)
	if err != nil {
		return res, err
	}
	res.probeMissed = !ok
	res.probeLat, res.probeSeen = d, flip.Add(d).Sub(t0)
	if d, ok, err = rec.await(ctx, ee, flip, probeTimeout); err != nil {
		return res, err
	} else if ok {
		res.probeEpSeen = flip.Add(d).Sub(t0)
	}
	progress("restart: API ready after %v, probe flip in its slice after %v", res.apiReady.Round(time.Millisecond), res.probeSeen.Round(time.Millisecond))

	// Wait for both controllers to get through every Service once.
	rc := cs.CoreV1().RESTClient()
	var sy syncTimes
	select {
	case sy = <-syncs:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if sy.err != nil {
		return res, sy.err
	}
	res.sliceFirst, res.sliceSynced, res.epSynced = sy.sliceFirst, sy.sliceAll, sy.epAll
	progress("restart: controllers synced after %v (slices) and %v (endpoints); settling %v", res.sliceSynced.Round(time.Millisecond), res.epSynced.Round(time.Millisecond), cfg.settle)
	if err := pause(ctx, cfg.settle); err != nil {
		return res, err
	}
	if err := quiesce(ctx, rc, 2*time.Second, 2*time.Minute); err != nil {
		return res, err
	}
	m, err := scrapeMetrics(ctx, rc)
	if err != nil {
		return res, err
	}
	lease, err := cs.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, leaseName, metav1.GetOptions{})
	if err != nil {
		return res, fmt.Errorf("read lease %s: %w", leaseName, err)
	}
	if lease.Spec.AcquireTime != nil {
		res.leaseAcquired = lease.Spec.AcquireTime.Sub(t0)
	}
	res.metricSlice = m.sum("svcnet_endpointslice_changes_total")
	res.metricEps = m.sum("svcnet_endpoints_changes_total")
	if res.mem, err = sampleMemory(ctx, srv, rc); err != nil {
		return res, err
	}
	rec.close()
	if err := rec.err(); err != nil {
		return res, err
	}
	for _, r := range rec.snapshot() {
		probe := r.ns+"/"+r.svc == res.probe
		switch {
		case r.kind == kindSlice && probe:
			res.probeWrites++
		case r.kind == kindSlice:
			res.otherWrites++
		case probe:
			res.probeEpWrites++
		default:
			res.otherEpWrites++
		}
	}
	slicesAfter, epsAfter, _, err := snapshotVersions(ctx, cs, l)
	if err != nil {
		return res, err
	}
	probeSlices := map[string]bool{}
	for _, r := range rec.snapshot() {
		if r.kind == kindSlice && r.ns+"/"+r.svc == res.probe {
			probeSlices[r.ns+"/"+r.name] = true
		}
	}
	res.changedSlices = changed(slicesBefore, slicesAfter, func(k string) bool { return probeSlices[k] })
	res.changedEndpoints = changed(epsBefore, epsAfter, func(k string) bool { return k == res.probe })
	return res, nil
}

// syncTimes is when, from start, the restarted controllers' sync counters reached
// their marks.
type syncTimes struct {
	sliceFirst, sliceAll, epAll time.Duration
	err                         error
}

// followSyncs polls /metrics every 50 ms until both endpoint controllers have made
// as many successful syncs as there are Services, or timeout passes.
func followSyncs(ctx context.Context, rc rest.Interface, services int, t0 time.Time, timeout time.Duration) syncTimes {
	var st syncTimes
	deadline := time.Now().Add(timeout)
	for st.sliceAll == 0 || st.epAll == 0 {
		m, err := scrapeMetrics(ctx, rc)
		if err != nil {
			st.err = err
			return st
		}
		now := time.Now()
		slices := m[`svcnet_endpointslice_syncs_total{result="success"}`]
		if st.sliceFirst == 0 && slices >= 1 {
			st.sliceFirst = now.Sub(t0)
		}
		if st.sliceAll == 0 && slices >= float64(services) {
			st.sliceAll = now.Sub(t0)
		}
		if st.epAll == 0 && m.sum("svcnet_endpoints_syncs_total") >= float64(services) {
			st.epAll = now.Sub(t0)
		}
		if now.After(deadline) {
			st.err = fmt.Errorf("restarted controllers did not sync %d services in %v", services, timeout)
			return st
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			st.err = err
			return st
		}
	}
	return st
}
