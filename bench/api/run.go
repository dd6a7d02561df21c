package main

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// Namespaces and etcd prefixes of the phases. The floor's keys live outside
// /registry so that no svcnet watch sees them.
const (
	nsSerial     = "bench-serial"
	nsParallel   = "bench-parallel"
	nsWatch      = "bench-watch"
	nsWarm       = "bench-warm"
	floorSerial  = "/bench-floor/serial/"
	floorPar     = "/bench-floor/parallel/"
	floorTxn     = "/bench-floor/txn/"
	floorWatch   = "/bench-floor/watch/"
	floorWarm    = "/bench-floor/warm/"
	warmupWrites = 50
)

// results is everything one run measured.
type results struct {
	cfg                 config
	started             time.Time
	valueSize           int
	idle, atN, end      procfs.Memory
	serial, floorSerial phase
	par, floorPar, txn  phase
	// relay is the parallel creates against the HTTPS relay (relay.go).
	relay             phase
	lists             listTimes
	watch, floorWatch watchResult
	svcnetVer         string
	// loadStart and loadEnd are the machine's load averages around the run.
	loadStart, loadEnd string
}

func run(ctx context.Context, cfg config) error {
	res := results{cfg: cfg, started: time.Now().UTC(), svcnetVer: svcnetVersion(cfg.svcnet), loadStart: procfs.LoadAverage()}
	progress("starting %s", cfg.svcnet)
	srv, err := startServer(ctx, cfg.svcnet)
	if err != nil {
		return err
	}
	defer srv.stop()
	progress("server pid %d, data %s", srv.pid(), srv.Dir)
	if err := measure(ctx, cfg, srv, &res); err != nil {
		return fmt.Errorf("%w\nserver log tail:\n%s", err, srv.logTail())
	}
	res.loadEnd = procfs.LoadAverage()
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
	meter := cpuMeter{pid: srv.pid()}
	restCfg, err := srv.restConfig()
	if err != nil {
		return err
	}
	wireFormat(restCfg, cfg)
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	etcd, err := dialEtcd(srv.etcdEndpoint())
	if err != nil {
		return err
	}
	defer etcd.Close()
	if res.idle, err = procfs.ReadMemory(srv.pid()); err != nil {
		return err
	}
	for _, ns := range []string{nsSerial, nsParallel, nsWatch, nsWarm} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}

	// Warm both paths (connections, caches) and take the floor's value: the exact
	// protobuf bytes svcnet stored for one bench Service.
	if p := runParallel(ctx, "warm-up", warmupWrites, 4, meter, createServices(cs, nsWarm)); p.errs > 0 {
		return fmt.Errorf("warm-up creates: %w", p.firstErr)
	}
	storedKey := "/registry/services/" + nsWarm + "/" + serviceName(0)
	stored, err := etcd.Get(ctx, storedKey)
	if err != nil {
		return fmt.Errorf("read a stored service from etcd: %w", err)
	}
	if len(stored.Kvs) != 1 {
		return fmt.Errorf("etcd has no %s: svcnet stores services elsewhere", storedKey)
	}
	value := stored.Kvs[0].Value
	res.valueSize = len(value)
	if p := runParallel(ctx, "warm-up", warmupWrites, 4, meter, putKeys(etcd, floorWarm, value)); p.errs > 0 {
		return fmt.Errorf("warm-up puts: %w", p.firstErr)
	}

	n, c := cfg.services, cfg.clients
	rc := cs.CoreV1().RESTClient()
	timed := func(out *phase, name string, workers int, op func(context.Context, int) error) error {
		before, err := scrapeHandlerTime(ctx, rc, "create")
		if err != nil {
			return err
		}
		*out = runParallel(ctx, name, n, workers, meter, op)
		after, err := scrapeHandlerTime(ctx, rc, "create")
		if err != nil {
			return err
		}
		if mean, count := after.since(before); count == int64(n) {
			out.handler = mean
		}
		p := *out
		progress("%s: %d in %v (%.0f/s), p50 %v p99 %v, errors %d", p.name, p.ops, p.wall.Round(time.Millisecond),
			p.rate(), percentile(p.lat, 50), percentile(p.lat, 99), p.errs)
		if p.errs > 0 {
			return fmt.Errorf("%s: %d errors, first: %w", p.name, p.errs, p.firstErr)
		}
		return nil
	}
	if err := timed(&res.serial, "svcnet create, 1 client", 1, createServices(cs, nsSerial)); err != nil {
		return err
	}
	// Memory with N bench Services and nothing else of size stored yet.
	if res.atN, err = procfs.ReadMemory(srv.pid()); err != nil {
		return err
	}
	if err := timed(&res.floorSerial, "etcd put, 1 client", 1, putKeys(etcd, floorSerial, value)); err != nil {
		return err
	}
	prof := startProfile(ctx, rc, cfg.cpuProfile, cfg.profileSecs)
	if err := timed(&res.par, fmt.Sprintf("svcnet create, %d clients", c), c, createServices(cs, nsParallel)); err != nil {
		return err
	}
	if err := prof.wait(res.par.wall); err != nil {
		return err
	}
	if err := timed(&res.floorPar, fmt.Sprintf("etcd put, %d clients", c), c, putKeys(etcd, floorPar, value)); err != nil {
		return err
	}
	if err := timed(&res.txn, fmt.Sprintf("etcd txn shaped like svcnet's, %d clients", c), c, txnKeys(etcd, floorTxn, value)); err != nil {
		return err
	}
	progress("HTTPS relay floor")
	if res.relay, err = measureRelay(ctx, cfg, value); err != nil {
		return err
	}

	progress("lists of %d services, %d rounds", n, cfg.listReps)
	if res.lists, err = timeLists(ctx, rc, etcd, nsSerial, cfg.listReps); err != nil {
		return err
	}
	if res.lists.jsonItems != n || res.lists.tableRows != n || res.lists.etcdN != n {
		return fmt.Errorf("lists returned %d items, %d rows, %d keys; want %d each", res.lists.jsonItems, res.lists.tableRows, res.lists.etcdN, n)
	}

	progress("svcnet watch: %d watchers, %d writes every %v", cfg.watchers, cfg.watchEvents, cfg.watchInterval)
	sw := &svcnetWatch{cfg: restCfg, writer: cs, ns: nsWatch}
	if res.watch, err = measureWatch(ctx, sw, cfg.watchers, cfg.watchEvents, cfg.watchInterval, meter); err != nil {
		return fmt.Errorf("svcnet watch: %w", err)
	}
	progress("etcd watch: %d watchers, %d writes every %v", cfg.watchers, cfg.watchEvents, cfg.watchInterval)
	ew := &etcdWatch{endpoint: srv.etcdEndpoint(), writer: etcd, prefix: floorWatch, value: string(value)}
	if res.floorWatch, err = measureWatch(ctx, ew, cfg.watchers, cfg.watchEvents, cfg.watchInterval, meter); err != nil {
		return fmt.Errorf("etcd watch: %w", err)
	}
	if res.end, err = procfs.ReadMemory(srv.pid()); err != nil {
		return err
	}
	return nil
}

// wireFormat makes client-go speak what cfg asks: JSON (its default) or protobuf.
func wireFormat(restCfg *rest.Config, cfg config) {
	restCfg.ContentType, restCfg.AcceptContentTypes = "", ""
	if cfg.protobuf {
		restCfg.ContentType = "application/vnd.kubernetes.protobuf"
		restCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
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
