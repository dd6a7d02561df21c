package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// floorPrefix holds the floor's keys, outside /registry so that no svcnet watch sees
// them.
const floorPrefix = "/bench-floor/endpoints/"

// changeResult is what the timed readiness flips measured.
type changeResult struct {
	changes, toReady int
	// lat runs from the start of the status write to the slice event showing it;
	// epLat the same for the Endpoints object; call is the status write alone.
	lat, epLat, call  []time.Duration // sorted
	missed, epMissed  int
	sliceWrites       int         // every slice write seen during the phase
	epWrites          int         // every Endpoints write seen during the phase
	perChange         map[int]int // slice writes in a change's window -> changes
	foreign           int         // slice writes in a window on another Service's slice
	metricSlice       float64     // the EndpointSlice controller's own count of its writes
	metricEndpoints   float64     // the Endpoints controller's own count
	floorPut, floorEv []time.Duration
	floorMissed       int
	valueSize         int
	cpu               cost
}

// floorEvent is a floor key seen on the watch, and when.
type floorEvent struct {
	key string
	at  time.Time
}

// floorSide is the etcd floor: puts of a stored slice's bytes to keys outside
// /registry, each awaited on an etcd watch of its own connection.
type floorSide struct {
	writer, watcher *clientv3.Client
	value           string
	events          chan floorEvent
	closeOnce       sync.Once
}

func dialEtcd(endpoint string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd at %s: %w", endpoint, err)
	}
	return cli, nil
}

func newFloor(ctx context.Context, endpoint string, writer *clientv3.Client, value []byte) (*floorSide, error) {
	w, err := dialEtcd(endpoint)
	if err != nil {
		return nil, err
	}
	f := &floorSide{writer: writer, watcher: w, value: string(value), events: make(chan floorEvent, 16)}
	wch := w.Watch(ctx, floorPrefix, clientv3.WithPrefix(), clientv3.WithPrevKV())
	go func() {
		for resp := range wch {
			now := time.Now()
			for _, ev := range resp.Events {
				select {
				case f.events <- floorEvent{key: string(ev.Kv.Key), at: now}:
				default:
				}
			}
		}
	}()
	return f, nil
}

// put times one put and the arrival of its watch event.
func (f *floorSide) put(ctx context.Context, i int, timeout time.Duration) (put, event time.Duration, seen bool, err error) {
	key := fmt.Sprintf("%s%06d", floorPrefix, i)
	t := time.Now()
	if _, err := f.writer.Put(ctx, key, f.value); err != nil {
		return 0, 0, false, fmt.Errorf("etcd put: %w", err)
	}
	put = time.Since(t)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev := <-f.events:
			if ev.key == key {
				return put, ev.at.Sub(t), true, nil
			}
		case <-deadline.C:
			return put, 0, false, nil
		case <-ctx.Done():
			return put, 0, false, ctx.Err()
		}
	}
}

func (f *floorSide) close() { f.closeOnce.Do(func() { _ = f.watcher.Close() }) }

// errNoSlice is returned when no stored slice could be found for the floor value.
var errNoSlice = errors.New("no bench endpointslice found")

// storedSlice reads the bytes svcnet stored for one bench slice.
func storedSlice(ctx context.Context, cs kubernetes.Interface, etcd *clientv3.Client, ns string) (string, []byte, error) {
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: managedBy, Limit: 1})
	if err != nil {
		return "", nil, fmt.Errorf("list endpointslices in %s: %w", ns, err)
	}
	if len(list.Items) == 0 {
		return "", nil, fmt.Errorf("%s: %w", ns, errNoSlice)
	}
	key := "/registry/discovery.k8s.io/endpointslices/" + ns + "/" + list.Items[0].Name
	resp, err := etcd.Get(ctx, key)
	if err != nil {
		return "", nil, fmt.Errorf("read %s from etcd: %w", key, err)
	}
	if len(resp.Kvs) != 1 {
		return "", nil, fmt.Errorf("etcd has no %s: svcnet stores slices elsewhere", key)
	}
	return key, resp.Kvs[0].Value, nil
}

// measureChanges flips the readiness of random Pods one at a time. For each it
// waits until the flip shows in the Pod's slice (and Endpoints), pauses, makes one
// timed floor put, pauses again. Every slice and Endpoints write seen from the first
// flip until settle after the last is counted, and attributed to the flip whose
// window (its start to the next flip's start) it falls in.
func measureChanges(ctx context.Context, cfg config, cs kubernetes.Interface, restCfg *rest.Config, st *pods, fl *floorSide, meter cpuMeter) (changeResult, error) {
	res := changeResult{changes: cfg.changes, perChange: map[int]int{}}
	rc := cs.CoreV1().RESTClient()
	// Start from a quiet server: the fill's last writes must not count.
	if err := quiesce(ctx, rc, 2*time.Second, 2*time.Minute); err != nil {
		return res, err
	}
	before, err := scrapeMetrics(ctx, rc)
	if err != nil {
		return res, err
	}
	list, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return res, fmt.Errorf("list endpointslices: %w", err)
	}
	rec := newRecorder()
	if err := rec.openWatches(ctx, restCfg, list.ResourceVersion); err != nil {
		return res, err
	}
	defer rec.close()

	rng := rand.New(rand.NewPCG(cfg.seed, 0x656e64706f696e74))
	l := st.l
	starts := make([]time.Time, cfg.changes)
	targets := make([]string, cfg.changes) // ns/svc of each flip
	c0 := meter.now()
	g := 0
	for k := range cfg.changes {
		// Even flips take a random ready Pod out, odd ones put it back: both
		// directions are measured alike and every Pod ends ready.
		if k%2 == 0 {
			g = rng.IntN(l.total())
		}
		want := !st.ready[g]
		if want {
			res.toReady++
		}
		ip := podIP(g)
		targets[k] = serviceOf(l, g)
		se := rec.expect(kindSlice, ip, want)
		ee := rec.expect(kindEndpoints, ip, want)
		starts[k] = time.Now()
		if err := st.setReady(ctx, cs, g, want); err != nil {
			return res, fmt.Errorf("flip %d: %w", k, err)
		}
		res.call = append(res.call, time.Since(starts[k]))
		d, ok, err := rec.await(ctx, se, starts[k], cfg.changeTimeout)
		if err != nil {
			return res, err
		}
		if ok {
			res.lat = append(res.lat, d)
		} else {
			res.missed++
		}
		d, ok, err = rec.await(ctx, ee, starts[k], cfg.changeTimeout)
		if err != nil {
			return res, err
		}
		if ok {
			res.epLat = append(res.epLat, d)
		} else {
			res.epMissed++
		}
		if err := pause(ctx, cfg.interval); err != nil {
			return res, err
		}
		put, ev, seen, err := fl.put(ctx, k, cfg.changeTimeout)
		if err != nil {
			return res, err
		}
		res.floorPut = append(res.floorPut, put)
		if seen {
			res.floorEv = append(res.floorEv, ev)
		} else {
			res.floorMissed++
		}
		if err := pause(ctx, cfg.interval); err != nil {
			return res, err
		}
		if (k+1)%100 == 0 {
			progress("flips: %d of %d, slice p50 %v, missed %d", k+1, cfg.changes, percentile(sorted(res.lat), 50), res.missed)
		}
	}
	if err := pause(ctx, cfg.settle); err != nil {
		return res, err
	}
	res.cpu = meter.since(c0)
	after, err := scrapeMetrics(ctx, rc)
	if err != nil {
		return res, err
	}
	rec.close()
	if err := rec.err(); err != nil {
		return res, err
	}
	res.metricSlice = after.sum("svcnet_endpointslice_changes_total") - before.sum("svcnet_endpointslice_changes_total")
	res.metricEndpoints = after.sum("svcnet_endpoints_changes_total") - before.sum("svcnet_endpoints_changes_total")

	// Attribute every write to the window of the flip it followed.
	windows := make([]int, cfg.changes)
	for _, r := range rec.snapshot() {
		if r.kind == kindEndpoints {
			res.epWrites++
			continue
		}
		res.sliceWrites++
		k, ok := windowOf(starts, r.at)
		if !ok {
			continue
		}
		windows[k]++
		if r.ns+"/"+r.svc != targets[k] {
			res.foreign++
		}
	}
	for _, n := range windows {
		res.perChange[n]++
	}
	for _, ds := range [][]time.Duration{res.lat, res.epLat, res.call, res.floorPut, res.floorEv} {
		slices.Sort(ds)
	}
	return res, nil
}

// windowOf finds the flip whose window holds t: the last start at or before t.
func windowOf(starts []time.Time, t time.Time) (int, bool) {
	k, found := slices.BinarySearchFunc(starts, t, func(s, t time.Time) int { return s.Compare(t) })
	if found {
		return k, true
	}
	if k == 0 {
		return 0, false
	}
	return k - 1, true
}

// pause sleeps d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// quiesce waits until the endpoint controllers' write counters have not moved for
// quiet, or fails after timeout.
func quiesce(ctx context.Context, rc rest.Interface, quiet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	key := func(m metrics) string {
		return fmt.Sprint(m.sum("svcnet_endpointslice_changes_total"), "/", m.sum("svcnet_endpoints_changes_total"))
	}
	prev, err := scrapeMetrics(ctx, rc)
	if err != nil {
		return err
	}
	since := time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			return fmt.Errorf("controllers still writing after %v (writes %s)", timeout, key(prev))
		}
		if err := pause(ctx, 250*time.Millisecond); err != nil {
			return err
		}
		cur, err := scrapeMetrics(ctx, rc)
		if err != nil {
			return err
		}
		if key(cur) != key(prev) {
			since = time.Now()
		}
		prev = cur
	}
	return nil
}

// serviceOf is the ns/name of the Service a flipped Pod belongs to.
func serviceOf(l layout, g int) string {
	i := g / l.pods
	return l.namespace(i) + "/" + l.serviceName(i)
}
