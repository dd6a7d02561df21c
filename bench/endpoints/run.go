package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// results is everything one run measured.
type results struct {
	cfg       config
	started   time.Time
	svcnetVer string
	tree      string // the commit checked out when the run started
	idle      memSample
	fill      fillTimes
	afterFill memSample
	changes   changeResult
	restart   restartResult
	conflicts int64
}

func run(ctx context.Context, cfg config) error {
	res := results{cfg: cfg, started: time.Now().UTC(), tree: sourceTree()}
	srv, err := newServer(cfg.svcnet)
	if err != nil {
		return err
	}
	defer srv.cleanup()
	res.svcnetVer = svcnetVersion(srv.binary)
	progress("starting %s in %s", cfg.svcnet, srv.dir)
	if err := srv.start(); err != nil {
		return err
	}
	if _, err := srv.ready(ctx, 2*time.Minute); err != nil {
		return err
	}
	progress("server pid %d", srv.pid())
	if err := measure(ctx, cfg, srv, &res); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
		if srv.running() {
			return fmt.Errorf("%w\nserver log tail:\n%s", err, srv.logTail())
		}
		return err
	}
	report := render(res)
	fmt.Print(report)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		progress("wrote %s", cfg.out)
	}
	return nil
}

func measure(ctx context.Context, cfg config, srv *server, res *results) error {
	l := layout{services: cfg.services, pods: cfg.pods, namespaces: cfg.namespaces, nodes: cfg.nodes}
	st := newPods(l)
	restCfg, err := srv.restConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if res.idle, err = sampleMemory(ctx, srv, cs.CoreV1().RESTClient()); err != nil {
		return err
	}

	// The fill: generous time, as a 2-core machine writes some 10^3 objects a second.
	fillTimeout := 10*time.Minute + time.Duration(l.total())*10*time.Millisecond
	if res.fill, err = fill(ctx, cs, l, st, cfg.workers, fillTimeout); err != nil {
		return err
	}
	progress("fill done: pods %v, services %v, converged %v later", res.fill.pods.Round(time.Millisecond),
		res.fill.services.Round(time.Millisecond), res.fill.converge.Round(time.Millisecond))
	if res.afterFill, err = sampleMemory(ctx, srv, cs.CoreV1().RESTClient()); err != nil {
		return err
	}

	etcd, err := dialEtcd(srv.etcdEndpoint())
	if err != nil {
		return err
	}
	closeEtcd := sync.OnceFunc(func() { _ = etcd.Close() })
	defer closeEtcd()
	key, value, err := storedSlice(ctx, cs, etcd, l.namespace(0))
	if err != nil {
		return err
	}
	fl, err := newFloor(ctx, srv.etcdEndpoint(), etcd, value)
	if err != nil {
		return err
	}
	defer fl.close()
	progress("flips: %d, one at a time, %v apart; floor value %d bytes from %s", cfg.changes, cfg.interval, len(value), key)
	res.changes, err = measureChanges(ctx, cfg, cs, restCfg, st, fl, cpuMeter{pid: srv.pid()})
	res.changes.valueSize = len(value)
	if err != nil {
		return err
	}
	// The server's etcd goes away with it.
	fl.close()
	closeEtcd()

	if res.restart, err = measureRestart(ctx, cfg, srv, st); err != nil {
		return err
	}
	res.conflicts = st.conflicts.Load()
	return nil
}

// memSample is the server's memory at one moment, with its Go heap and etcd's
// database size to tell where the resident set goes.
type memSample struct {
	procfs.Memory
	heapInuse       int64 // go_memstats_heap_inuse_bytes: API server, controllers and etcd alike
	liveHeap        int64 // the heap the last GC left: next GC target / (1 + GOGC/100)
	dbSize, dbInUse int64 // etcd's backend file, and the part of it in use
}

func sampleMemory(ctx context.Context, srv *server, rc rest.Interface) (memSample, error) {
	var s memSample
	var err error
	if s.Memory, err = procfs.ReadMemory(srv.pid()); err != nil {
		return s, err
	}
	m, err := scrapeMetrics(ctx, rc)
	if err != nil {
		return s, err
	}
	s.heapInuse = int64(m.sum("go_memstats_heap_inuse_bytes"))
	if gogc := m.sum("go_gc_gogc_percent"); gogc > 0 {
		s.liveHeap = int64(m.sum("go_memstats_next_gc_bytes") / (1 + gogc/100))
	}
	cli, err := dialEtcd(srv.etcdEndpoint())
	if err != nil {
		return s, err
	}
	defer cli.Close()
	st, err := cli.Status(ctx, srv.etcdEndpoint())
	if err != nil {
		return s, fmt.Errorf("etcd status: %w", err)
	}
	s.dbSize, s.dbInUse = st.DbSize, st.DbSizeInUse
	return s, nil
}

// svcnetVersion asks the binary for its version, for the record.
func svcnetVersion(binary string) string {
	out, err := execOutput(binary, "version")
	if err != nil {
		return "unknown"
	}
	return out
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
