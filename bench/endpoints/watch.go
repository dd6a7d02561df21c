package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// kind is the object a recorded write was made to.
type kind int

const (
	kindSlice kind = iota
	kindEndpoints
)

func (k kind) String() string {
	if k == kindSlice {
		return "EndpointSlice"
	}
	return "Endpoints"
}

// record is one write seen on a watch.
type record struct {
	at   time.Time
	kind kind
	typ  watch.EventType
	// ns/svc is the Service the object belongs to (a slice's service-name label,
	// an Endpoints object's name); name is the object's own name.
	ns, svc, name string
}

// expectation waits for the first write showing ip with the given readiness.
type expectation struct {
	kind  kind
	ip    string
	ready bool
	at    time.Time
	done  chan struct{}
}

// recorder keeps every write its watches deliver, with the time of receipt, and
// resolves expectations.
type recorder struct {
	mu      sync.Mutex
	records []record
	waits   []*expectation
	errc    chan error
	wg      sync.WaitGroup
	watches []watch.Interface
	// stopping is set before the watches are stopped: client-go may then deliver an
	// error event for the closed stream, which is no failure.
	stopping atomic.Bool
}

func newRecorder() *recorder { return &recorder{errc: make(chan error, 4)} }

// expect registers an expectation; its done channel closes when a write shows it.
func (r *recorder) expect(k kind, ip string, ready bool) *expectation {
	e := &expectation{kind: k, ip: ip, ready: ready, done: make(chan struct{})}
	r.mu.Lock()
	r.waits = append(r.waits, e)
	r.mu.Unlock()
	return e
}

// forget drops an expectation that timed out.
func (r *recorder) forget(e *expectation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range r.waits {
		if w == e {
			r.waits = append(r.waits[:i], r.waits[i+1:]...)
			return
		}
	}
}

// snapshot copies the records so far.
func (r *recorder) snapshot() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]record(nil), r.records...)
}

// openWatches watches EndpointSlices and Endpoints in all namespaces from
// resourceVersion rv, on a connection of its own (as a node's proxy would have),
// and records every write.
func (r *recorder) openWatches(ctx context.Context, cfg *rest.Config, rv string) error {
	c := rest.CopyConfig(cfg)
	// A dial function of its own keeps client-go from sharing the cached transport
	// of the writing client.
	c.Dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return fmt.Errorf("watch client: %w", err)
	}
	opts := metav1.ListOptions{ResourceVersion: rv}
	sw, err := cs.DiscoveryV1().EndpointSlices("").Watch(ctx, opts)
	if err != nil {
		return fmt.Errorf("watch endpointslices: %w", err)
	}
	ew, err := cs.CoreV1().Endpoints("").Watch(ctx, opts)
	if err != nil {
		sw.Stop()
		return fmt.Errorf("watch endpoints: %w", err)
	}
	r.watches = append(r.watches, sw, ew)
	r.follow(ctx, sw, kindSlice)
	r.follow(ctx, ew, kindEndpoints)
	return nil
}

func (r *recorder) follow(ctx context.Context, w watch.Interface, k kind) {
	r.wg.Go(func() {
		for ev := range w.ResultChan() {
			now := time.Now()
			if r.stopping.Load() {
				continue
			}
			switch ev.Type {
			case watch.Added, watch.Modified, watch.Deleted:
			case watch.Error:
				r.fail(fmt.Errorf("%v watch: %v", k, ev.Object))
				return
			default:
				continue
			}
			rec := record{at: now, kind: k, typ: ev.Type}
			var shows func(ip string, ready bool) bool
			switch o := ev.Object.(type) {
			case *discoveryv1.EndpointSlice:
				rec.ns, rec.svc, rec.name = o.Namespace, o.Labels[discoveryv1.LabelServiceName], o.Name
				shows = func(ip string, ready bool) bool { return sliceShows(o, ip, ready) }
			case *corev1.Endpoints:
				rec.ns, rec.svc, rec.name = o.Namespace, o.Name, o.Name
				shows = func(ip string, ready bool) bool { return endpointsShow(o, ip, ready) }
			default:
				r.fail(fmt.Errorf("%v watch: unexpected object %T", k, ev.Object))
				return
			}
			r.mu.Lock()
			r.records = append(r.records, rec)
			if ev.Type != watch.Deleted {
				kept := r.waits[:0]
				for _, e := range r.waits {
					if e.kind == k && shows(e.ip, e.ready) {
						e.at = now
						close(e.done)
						continue
					}
					kept = append(kept, e)
				}
				r.waits = kept
			}
			r.mu.Unlock()
		}
		if ctx.Err() == nil && !r.stopping.Load() {
			r.fail(fmt.Errorf("%v watch closed early", k))
		}
	})
}

func (r *recorder) fail(err error) {
	select {
	case r.errc <- err:
	default:
	}
}

// err returns a watch failure, if any happened.
func (r *recorder) err() error {
	select {
	case err := <-r.errc:
		return err
	default:
		return nil
	}
}

// close stops the watches and waits for their goroutines.
func (r *recorder) close() {
	r.stopping.Store(true)
	for _, w := range r.watches {
		w.Stop()
	}
	r.watches = nil
	r.wg.Wait()
}

// await waits for e until timeout; it returns the latency from start, or false if
// it did not happen in time.
func (r *recorder) await(ctx context.Context, e *expectation, start time.Time, timeout time.Duration) (time.Duration, bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-e.done:
		return e.at.Sub(start), true, nil
	case <-t.C:
		r.forget(e)
		return 0, false, nil
	case err := <-r.errc:
		return 0, false, err
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
}

// sliceShows reports whether the slice holds an endpoint for ip with that ready
// condition (an absent condition reads as ready, as the API defines it).
func sliceShows(s *discoveryv1.EndpointSlice, ip string, ready bool) bool {
	for _, e := range s.Endpoints {
		for _, a := range e.Addresses {
			if a == ip {
				r := e.Conditions.Ready == nil || *e.Conditions.Ready
				return r == ready
			}
		}
	}
	return false
}

// endpointsShow reports whether ip is among the ready (or the not-ready) addresses.
func endpointsShow(ep *corev1.Endpoints, ip string, ready bool) bool {
	for _, ss := range ep.Subsets {
		list := ss.NotReadyAddresses
		if ready {
			list = ss.Addresses
		}
		for _, a := range list {
			if a.IP == ip {
				return true
			}
		}
	}
	return false
}
