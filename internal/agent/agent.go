package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/svcnet/svcnet/internal/proxy"
)

// DataPlane programs the node for a snapshot. full asks it to reconcile against
// the actual kernel state instead of its record of the last sync.
type DataPlane interface {
	Sync(ctx context.Context, snap *proxy.Snapshot, full bool) error
}

// unchangedPlane is a DataPlane that can tell cheaply that the kernel holds
// exactly what its last sync left, so that a periodic full sync would repair
// nothing. Planes without it get every periodic full sync.
type unchangedPlane interface {
	Unchanged() bool
}

// FamilyPlane is the data plane of one IP family: it is handed the snapshots
// of that family. A dual-stack node has one per family, as kube-proxy runs a
// proxier per family.
type FamilyPlane struct {
	Family proxy.Family
	Plane  DataPlane
}

// familyPlane is a FamilyPlane with the agent's state for it.
type familyPlane struct {
	FamilyPlane
	// builder keeps the ports of unchanged Services between syncs, and
	// conflicts are the ones the last successful sync reported; only the sync
	// loop uses them.
	builder   *proxy.Builder
	conflicts []proxy.Conflict
}

// Config is the agent's typed configuration.
type Config struct {
	NodeName string
	// NodeIPs are reported as the Node's InternalIP addresses.
	NodeIPs []netip.Addr
	// PodCIDRs, when set, are written to the Node's spec.podCIDRs (the first
	// also to spec.podCIDR): at most one per IP family.
	PodCIDRs []string
	// SyncPeriod is the interval of full syncs; default 30s.
	SyncPeriod time.Duration
	// MinSyncPeriod is the least time between two syncs; changes within it are
	// batched into one. Default 0: sync as soon as a change arrives.
	MinSyncPeriod time.Duration
	// LeaseDuration is the Node Lease's duration; it is renewed every quarter of
	// it. Default 40s.
	LeaseDuration time.Duration
	// Labels are set on the Node (added when missing, never removed).
	Labels map[string]string
}

func (c Config) withDefaults() Config {
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = 30 * time.Second
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 40 * time.Second
	}
	return c
}

// Agent runs one node. Create it with [New] and run it with [Agent.Run].
type Agent struct {
	cfg     Config
	client  kubernetes.Interface
	planes  []*familyPlane
	log     *slog.Logger
	metrics *metrics

	factory  informers.SharedInformerFactory
	services cache.SharedIndexInformer
	slices   cache.SharedIndexInformer
	synced   []cache.InformerSynced

	// changed is signalled (without blocking) when the informers see a change.
	changed chan struct{}

	health *serviceHealth

	mu         sync.Mutex
	lastSync   time.Time // last successful sync, or skipped full sync that found the plane in step
	lastChange time.Time // first change not yet synced; zero when in step
	// dirty names the Services (namespace, name) whose object or slices
	// changed since the last sync.
	dirty map[[2]string]struct{}
}

// sliceServiceIndex indexes slices by namespace/service name.
const sliceServiceIndex = "service"

// New wires an agent to the API through client and to the node through planes,
// one per IP family the node serves (each sync programs them all). No plane
// makes an agent without a data plane: it registers the node and heartbeats,
// nothing more. It starts nothing.
func New(cfg Config, client kubernetes.Interface, planes []FamilyPlane, reg prometheus.Registerer, log *slog.Logger) *Agent {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg = cfg.withDefaults()
	a := &Agent{cfg: cfg, client: client, log: log, metrics: newMetrics(reg), changed: make(chan struct{}, 1)}
	for _, p := range planes {
		a.planes = append(a.planes, &familyPlane{FamilyPlane: p, builder: proxy.NewBuilder(p.Family)})
	}
	a.health = newServiceHealth(log, func() bool { _, ok := a.Healthy(time.Now()); return ok })
	// Services and slices that another proxy handles, and headless ones, are
	// never this agent's business: the informers do not even carry them.
	notOurs := func(o *metav1.ListOptions) { o.LabelSelector = proxyScopeSelector }
	a.factory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(notOurs),
		informers.WithTransform(slim))
	a.services = a.factory.Core().V1().Services().Informer()
	a.slices = a.factory.Discovery().V1().EndpointSlices().Informer()
	a.synced = []cache.InformerSynced{a.services.HasSynced, a.slices.HasSynced}
	_ = a.slices.AddIndexers(cache.Indexers{sliceServiceIndex: func(obj any) ([]string, error) {
		if k, ok := serviceOfSlice(obj); ok {
			return []string{k[0] + "/" + k[1]}, nil
		}
		return nil, nil
	}})
	a.dirty = map[[2]string]struct{}{}
	_, _ = a.services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.markChanged(serviceKey(obj)) },
		UpdateFunc: func(_, cur any) { a.markChanged(serviceKey(cur)) },
		DeleteFunc: func(obj any) { a.markChanged(serviceKey(obj)) },
	})
	sliceKeys := func(objs ...any) [][2]string {
		var out [][2]string
		for _, o := range objs {
			if k, ok := serviceOfSlice(o); ok {
				out = append(out, k)
			}
		}
		return out
	}
	_, _ = a.slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.markChanged(sliceKeys(obj)...) },
		UpdateFunc: func(old, cur any) { a.markChanged(sliceKeys(old, cur)...) },
		DeleteFunc: func(obj any) { a.markChanged(sliceKeys(obj)...) },
	})
	return a
}

// serviceKey names the Service obj is (or was, for a deletion).
func serviceKey(obj any) [2]string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, err := meta.Accessor(obj); err == nil {
		return [2]string{m.GetNamespace(), m.GetName()}
	}
	return [2]string{}
}

// serviceOfSlice names the Service a slice belongs to.
func serviceOfSlice(obj any) ([2]string, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelServiceName] == "" {
		return [2]string{}, false
	}
	return [2]string{s.Namespace, s.Labels[discoveryv1.LabelServiceName]}, true
}

// lookup reads a Service and its slices from the informer caches.
func (a *Agent) lookup(namespace, name string) (*corev1.Service, []*discoveryv1.EndpointSlice) {
	var svc *corev1.Service
	if obj, ok, err := a.services.GetStore().GetByKey(namespace + "/" + name); err == nil && ok {
		svc, _ = obj.(*corev1.Service)
	}
	objs, err := a.slices.GetIndexer().ByIndex(sliceServiceIndex, namespace+"/"+name)
	if err != nil {
		return svc, nil
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	return svc, out
}

// slim drops what the data plane never reads from a cached object: managed
// fields and kubectl's last-applied annotation are most of a small object;
// owner references, and each endpoint's targetRef (the pod it stands for,
// four strings per endpoint in slices the endpointslice controller writes)
// and deprecated topology, are the rest of what it carries for others.
//
// It also packs what stays of a slice's endpoints: the decoder grows their
// list by appending (room for 16 when there are 10), and gives every endpoint
// its own three condition booleans and node name. The cache keeps one list of
// the exact length, and condition and node name pointers shared between
// endpoints. Nothing may write through a cached object's pointers, which
// client-go's caches ask of every reader anyway.
func slim(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		m.SetOwnerReferences(nil)
		if a := m.GetAnnotations(); a != nil {
			delete(a, corev1.LastAppliedConfigAnnotation)
		}
	}
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
		eps := make([]discoveryv1.Endpoint, len(s.Endpoints))
		for i, e := range s.Endpoints {
			e.TargetRef = nil
			e.DeprecatedTopology = nil
			e.Conditions = discoveryv1.EndpointConditions{
				Ready: sharedBool(e.Conditions.Ready), Serving: sharedBool(e.Conditions.Serving), Terminating: sharedBool(e.Conditions.Terminating),
			}
			e.NodeName = nodeNames.get(e.NodeName)
			e.Zone = nodeNames.get(e.Zone)
			eps[i] = e
		}
		s.Endpoints = eps
	}
	return obj, nil
}

// The booleans every cached endpoint condition points to.
var boolTrue, boolFalse = true, false

func sharedBool(b *bool) *bool {
	switch {
	case b == nil:
		return nil
	case *b:
		return &boolTrue
	default:
		return &boolFalse
	}
}

// nodeNames hands out one pointer per node (or zone) name for the cached
// slices' endpoints.
var nodeNames = &stringPointers{m: map[string]*string{}}

// stringPointers interns *string values. It stops taking new names at a bound
// (a cluster has far fewer nodes and zones) so that it cannot grow without end.
type stringPointers struct {
	mu sync.Mutex
	m  map[string]*string
}

const maxInternedNames = 20000

func (p *stringPointers) get(s *string) *string {
	if s == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if q, ok := p.m[*s]; ok {
		return q
	}
	if len(p.m) >= maxInternedNames {
		return s
	}
	p.m[*s] = s
	return s
}

// proxyScopeSelector leaves out objects labelled for another proxy and the
// slices of headless Services, as kube-proxy's informers do.
var proxyScopeSelector = func() string {
	sel := labels.NewSelector()
	for _, key := range []string{proxy.LabelServiceProxyName, proxy.LabelHeadless} {
		r, err := labels.NewRequirement(key, selection.DoesNotExist, nil)
		if err != nil {
			panic(err)
		}
		sel = sel.Add(*r)
	}
	return sel.String()
}()

func (a *Agent) markChanged(keys ...[2]string) {
	a.mu.Lock()
	if a.lastChange.IsZero() {
		a.lastChange = time.Now()
	}
	for _, k := range keys {
		a.dirty[k] = struct{}{}
	}
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// Run registers the node, then keeps it and the data plane in step until ctx
// ends. It returns an error only when it cannot start.
func (a *Agent) Run(ctx context.Context) error {
	if a.cfg.NodeName == "" {
		return errors.New("run agent: node name is empty")
	}
	// Keep trying to register, as a kubelet does: the API server may not be up
	// yet, or the token may be created after the agent starts.
	for backoff := 500 * time.Millisecond; ; backoff = min(2*backoff, 10*time.Second) {
		err := a.registerNode(ctx)
		if err == nil {
			break
		}
		a.log.Warn("register node; retrying", "node", a.cfg.NodeName, "err", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
	a.log.Info("node registered", "node", a.cfg.NodeName, "addresses", a.cfg.NodeIPs)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.heartbeat(ctx) })
	if len(a.planes) == 0 {
		<-ctx.Done()
		return nil
	}
	a.factory.Start(ctx.Done())
	defer a.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), a.synced...) {
		return nil
	}
	a.log.Info("informer caches synced; programming the data plane")
	a.syncLoop(ctx)
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a.health.close(shut)
	return nil
}

// syncLoop syncs on changes (at most once per MinSyncPeriod) and fully every
// SyncPeriod, retrying failed syncs with back-off. A periodic full sync is
// skipped when every plane can tell nothing changed its rules since the last
// sync, for at most maxSkippedFull: a full sync holds back changes while it
// runs (over a second at 30,000 Services), so it runs only when it can repair
// something, or, as kube-proxy's full resyncs, at least every maxSkippedFull
// (it also rebuilds the snapshots from the informers' caches).
func (a *Agent) syncLoop(ctx context.Context) {
	lastFull := time.Now()
	full := time.NewTimer(a.cfg.SyncPeriod)
	defer full.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	backoff := time.Duration(0)
	doSync := func(isFull bool) {
		start := time.Now()
		if err := a.sync(ctx, isFull); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			a.log.Error("data plane sync failed; retrying", "err", err, "full", isFull, "retryIn", backoff)
			retry.Reset(backoff)
			return
		}
		backoff = 0
		if isFull {
			lastFull = start
			next := nextFullSync(a.cfg.SyncPeriod, time.Since(start))
			if next > a.cfg.SyncPeriod {
				a.log.Info("full syncs are slow; spacing them out", "took", time.Since(start), "next", next)
			}
			full.Reset(next)
		}
	}
	// The first sync is a full one, and covers every change seen so far.
	select {
	case <-a.changed:
	default:
	}
	doSync(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-full.C:
			if time.Since(lastFull) < maxSkippedFull && a.planesUnchanged() {
				// The data plane was just found in step: as good as a sync
				// for /healthz and the last-sync metric.
				a.markInStep(time.Now())
				a.metrics.fullSyncsSkipped.Inc()
				a.log.Debug("periodic full sync skipped: the data plane is as the last sync left it")
				full.Reset(a.cfg.SyncPeriod)
				continue
			}
			doSync(true)
		case <-retry.C:
			doSync(true)
		case <-a.changed:
			if wait := a.cfg.MinSyncPeriod - time.Since(a.lastSyncTime()); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			doSync(false)
		}
	}
}

// markInStep records that the data plane was known to hold the caches' state at
// now: after a successful sync, or a skipped full sync that found nothing to do.
func (a *Agent) markInStep(now time.Time) {
	a.mu.Lock()
	a.lastSync = now
	a.mu.Unlock()
	a.metrics.lastSync.Set(float64(now.Unix()))
}

// maxSkippedFull is the longest time without a full sync.
const maxSkippedFull = time.Hour

// planesUnchanged reports whether every plane can tell it holds what the last
// sync left.
func (a *Agent) planesUnchanged() bool {
	if len(a.planes) == 0 {
		return false
	}
	for _, fp := range a.planes {
		u, ok := fp.Plane.(unchangedPlane)
		if !ok || !u.Unchanged() {
			return false
		}
	}
	return true
}

// fullSyncShare keeps full syncs to at most one tenth of the agent's time: a
// full sync holds back changes, so a large table's full syncs are spaced out.
const fullSyncShare = 10

// nextFullSync is the wait before the next full sync, after one that took took:
// the sync period, or fullSyncShare times took when that is longer.
func nextFullSync(period, took time.Duration) time.Duration {
	return max(period, fullSyncShare*took)
}

func (a *Agent) lastSyncTime() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastSync
}

// sync builds a snapshot from the caches and hands it to the data plane.
func (a *Agent) sync(ctx context.Context, full bool) error {
	start := time.Now()
	a.mu.Lock()
	changedAt := a.lastChange
	a.lastChange = time.Time{}
	dirty := make([][2]string, 0, len(a.dirty))
	for k := range a.dirty {
		dirty = append(dirty, k)
	}
	clear(a.dirty)
	a.mu.Unlock()

	// A full sync rebuilds the snapshots from everything cached; other syncs
	// rebuild only the Services that changed. Every family's plane is synced,
	// even after another failed; a failure of any is the sync's failure.
	var services []*corev1.Service
	var epSlices []*discoveryv1.EndpointSlice
	snaps := make([]*proxy.Snapshot, len(a.planes))
	var errs []error
	for i, fp := range a.planes {
		if full || !fp.builder.Built() {
			if services == nil {
				services = listAs[*corev1.Service](a.services.GetStore())
				epSlices = listAs[*discoveryv1.EndpointSlice](a.slices.GetStore())
			}
			snaps[i] = fp.builder.Build(services, epSlices)
		} else {
			snaps[i] = fp.builder.Update(dirty, a.lookup)
		}
		if err := fp.Plane.Sync(ctx, snaps[i], full); err != nil {
			if len(a.planes) > 1 {
				err = fmt.Errorf("IPv%d data plane: %w", fp.Family, err)
			}
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	kind := "incremental"
	if full {
		kind = "full"
	}
	a.metrics.syncDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	if err != nil {
		a.metrics.syncErrors.Inc()
		a.mu.Lock()
		if a.lastChange.IsZero() || (!changedAt.IsZero() && changedAt.Before(a.lastChange)) {
			a.lastChange = changedAt
		}
		a.mu.Unlock()
		// The retry is a full sync, which rebuilds everything: the dirty set
		// taken above is not needed again.
		return err
	}
	now := time.Now()
	if !changedAt.IsZero() {
		a.metrics.changeToSync.Observe(now.Sub(changedAt).Seconds())
	}
	ports, conflicts := 0, 0
	for _, snap := range snaps {
		ports += len(snap.Ports)
		conflicts += len(snap.Conflicts)
	}
	a.metrics.servicePorts.Set(float64(ports))
	a.metrics.conflicts.Set(float64(conflicts))
	a.markInStep(now)
	for i, fp := range a.planes {
		// Said again only when the conflicts change, not at every sync.
		if slices.EqualFunc(fp.conflicts, snaps[i].Conflicts, sameConflict) {
			continue
		}
		fp.conflicts = snaps[i].Conflicts
		for _, c := range fp.conflicts {
			a.log.Warn("services claim the same destination; only one gets it",
				"destination", c.Destination, "keptBy", c.Winner.String(), "notProgrammedFor", fmt.Sprint(c.Losers))
		}
	}
	// A dual-stack Service has ports in both families' snapshots: its health
	// check port reports the most local endpoints of any.
	all := snaps[0]
	if len(snaps) > 1 {
		all = &proxy.Snapshot{}
		for _, snap := range snaps {
			all.Ports = append(all.Ports, snap.Ports...)
		}
	}
	a.health.update(healthStates(all, a.cfg.NodeName))
	a.log.Debug("data plane synced", "kind", kind, "servicePorts", ports, "took", time.Since(start))
	return nil
}

// Healthy reports whether the data plane is in step: the last sync is recent,
// and no change has waited unsynced for longer than a full sync period.
func (a *Agent) Healthy(now time.Time) (lastSync time.Time, ok bool) {
	if len(a.planes) == 0 {
		return now, true // nothing to keep in step
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lastSync.IsZero() {
		return a.lastSync, false
	}
	if !a.lastChange.IsZero() && now.Sub(a.lastChange) > a.cfg.SyncPeriod {
		return a.lastSync, false
	}
	return a.lastSync, now.Sub(a.lastSync) <= 2*a.cfg.SyncPeriod
}

func listAs[T any](store cache.Store) []T {
	items := store.List()
	out := make([]T, 0, len(items))
	for _, o := range items {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func sameConflict(a, b proxy.Conflict) bool {
	return a.Destination == b.Destination && a.Winner == b.Winner && slices.Equal(a.Losers, b.Losers)
}
