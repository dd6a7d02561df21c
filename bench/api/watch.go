package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// sentinel is the index delivered for the object written before the timed writes;
// every watcher seeing it proves every watch is established.
const sentinel = -1

// deliverFunc is called from a watcher's own goroutine for each event it receives,
// with the event's write index (or sentinel).
type deliverFunc func(idx int)

// watchTarget is one side of the watch comparison.
type watchTarget interface {
	// open starts watcher w, which calls deliver for every event until ctx ends; it
	// reports on errc if its stream ends early.
	open(ctx context.Context, w int, deliver deliverFunc, errc chan<- error) error
	writeSentinel(ctx context.Context) error
	write(ctx context.Context, i int) error
	close()
}

// watchResult is the write-to-event latency of every (watcher, event) pair.
type watchResult struct {
	lat      []time.Duration // sorted
	writeLat []time.Duration // sorted, the write calls alone
	missing  int             // pairs never delivered
	cpu      cost
}

// measureWatch opens watchers, waits until all of them see the sentinel, then makes
// events writes, one every interval, and records when each watcher receives each.
// Latency runs from the start of the write call to the receipt.
func measureWatch(ctx context.Context, t watchTarget, watchers, events int, interval time.Duration, meter cpuMeter) (watchResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer t.close()
	recv := make([][]time.Time, watchers)
	var ready, delivered atomic.Int64
	errc := make(chan error, watchers)
	for w := range watchers {
		recv[w] = make([]time.Time, events)
		row := recv[w]
		deliver := func(idx int) {
			now := time.Now()
			switch {
			case idx == sentinel:
				ready.Add(1)
			case idx >= 0 && idx < len(row) && row[idx].IsZero():
				row[idx] = now
				delivered.Add(1)
			}
		}
		if err := t.open(ctx, w, deliver, errc); err != nil {
			return watchResult{}, fmt.Errorf("open watcher %d: %w", w, err)
		}
	}
	if err := t.writeSentinel(ctx); err != nil {
		return watchResult{}, err
	}
	if err := waitCount(ctx, &ready, int64(watchers), 30*time.Second, errc); err != nil {
		return watchResult{}, fmt.Errorf("watchers established: %w", err)
	}

	starts := make([]time.Time, events)
	writeLat := make([]time.Duration, events)
	c0 := meter.now()
	begin := time.Now()
	for i := range events {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		starts[i] = time.Now()
		if err := t.write(ctx, i); err != nil {
			return watchResult{}, fmt.Errorf("timed write %d: %w", i, err)
		}
		writeLat[i] = time.Since(starts[i])
	}
	werr := waitCount(ctx, &delivered, int64(watchers*events), 30*time.Second, errc)
	res := watchResult{cpu: meter.since(c0)}
	// Stop the watchers before reading what they recorded.
	cancel()
	t.close()
	for _, row := range recv {
		for i, at := range row {
			if at.IsZero() {
				res.missing++
				continue
			}
			res.lat = append(res.lat, at.Sub(starts[i]))
		}
	}
	slices.Sort(res.lat)
	slices.Sort(writeLat)
	res.writeLat = writeLat
	if werr != nil && res.missing == 0 {
		return res, werr
	}
	return res, nil
}

// waitCount polls until n reaches want, a watcher fails, or timeout passes.
func waitCount(ctx context.Context, n *atomic.Int64, want int64, timeout time.Duration, errc <-chan error) error {
	deadline := time.Now().Add(timeout)
	for n.Load() < want {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d after %v", n.Load(), want, timeout)
		}
	}
	return nil
}

// svcnetWatch watches Services in one namespace, each watcher over its own
// connection (as separate nodes would), and writes by creating Services there.
type svcnetWatch struct {
	cfg     *rest.Config
	writer  kubernetes.Interface
	ns      string
	mu      sync.Mutex
	watches []watch.Interface
	wg      sync.WaitGroup
}

func (s *svcnetWatch) open(ctx context.Context, _ int, deliver deliverFunc, errc chan<- error) error {
	cfg := rest.CopyConfig(s.cfg)
	// A dial function of its own keeps client-go from sharing the cached transport,
	// so this watcher gets its own TCP connection.
	cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	wi, err := cs.CoreV1().Services(s.ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("watch services in %s: %w", s.ns, err)
	}
	s.mu.Lock()
	s.watches = append(s.watches, wi)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ev := range wi.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			svc, ok := ev.Object.(*corev1.Service)
			if !ok {
				continue
			}
			deliver(watchIndex(svc.Name))
		}
		if ctx.Err() == nil {
			errc <- errors.New("svcnet watch closed early")
		}
	}()
	return nil
}

func (s *svcnetWatch) writeSentinel(ctx context.Context) error {
	_, err := s.writer.CoreV1().Services(s.ns).Create(ctx, benchService("ready"), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create sentinel service: %w", err)
	}
	return nil
}

func (s *svcnetWatch) write(ctx context.Context, i int) error {
	_, err := s.writer.CoreV1().Services(s.ns).Create(ctx, benchService(watchName(i)), metav1.CreateOptions{})
	return err
}

func (s *svcnetWatch) close() {
	s.mu.Lock()
	ws := s.watches
	s.watches = nil
	s.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
	s.wg.Wait()
}

// etcdWatch watches a key prefix of the server's etcd, each watcher with its own
// client connection, asking for what svcnet asks for (prefix, previous values).
type etcdWatch struct {
	endpoint string
	writer   *clientv3.Client
	prefix   string
	value    string
	from     int64
	mu       sync.Mutex
	clients  []*clientv3.Client
	wg       sync.WaitGroup
}

func (e *etcdWatch) open(ctx context.Context, _ int, deliver deliverFunc, errc chan<- error) error {
	if e.from == 0 {
		// Watching from the revision before the sentinel makes every watcher see it,
		// however late its watch is set up.
		resp, err := e.writer.Get(ctx, e.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return fmt.Errorf("etcd revision: %w", err)
		}
		e.from = resp.Header.Revision + 1
	}
	cli, err := dialEtcd(e.endpoint)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.clients = append(e.clients, cli)
	e.mu.Unlock()
	wch := cli.Watch(ctx, e.prefix, clientv3.WithPrefix(), clientv3.WithRev(e.from), clientv3.WithPrevKV())
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for resp := range wch {
			if err := resp.Err(); err != nil {
				errc <- fmt.Errorf("etcd watch: %w", err)
				return
			}
			for _, ev := range resp.Events {
				deliver(watchIndex(strings.TrimPrefix(string(ev.Kv.Key), e.prefix)))
			}
		}
		if ctx.Err() == nil {
			errc <- errors.New("etcd watch closed early")
		}
	}()
	return nil
}

func (e *etcdWatch) writeSentinel(ctx context.Context) error {
	if _, err := e.writer.Put(ctx, e.prefix+"ready", e.value); err != nil {
		return fmt.Errorf("put sentinel key: %w", err)
	}
	return nil
}

func (e *etcdWatch) write(ctx context.Context, i int) error {
	_, err := e.writer.Put(ctx, e.prefix+watchName(i), e.value)
	return err
}

func (e *etcdWatch) close() {
	e.mu.Lock()
	cs := e.clients
	e.clients = nil
	e.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	e.wg.Wait()
}

func watchName(i int) string { return fmt.Sprintf("w-%05d", i) }

// watchIndex maps a written name back to its index: sentinel for "ready", -2 for
// anything else.
func watchIndex(name string) int {
	if name == "ready" {
		return sentinel
	}
	n, ok := strings.CutPrefix(name, "w-")
	if !ok {
		return -2
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return -2
	}
	return i
}

// dialEtcd connects to the embedded etcd's client socket.
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
