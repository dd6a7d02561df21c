// Command endpoints benchmarks how fast svcnet's controllers turn pod readiness into
// EndpointSlices, and how quietly a restarted server takes over.
//
// It starts `svcnet up` from a given binary in a temporary data dir on a free
// loopback port and fills it with N Services of M ready Pods each (Pods bound to
// Nodes it creates, with status written through pods/status as a kubelet would).
// Then it flips the Ready condition of random Pods one at a time and measures the
// time from the start of each status write to the EndpointSlice watch event that
// shows the new readiness, and counts every EndpointSlice (and, for information,
// Endpoints) write the flips cause. Interleaved with the flips it times etcd puts of
// a stored slice's bytes to the server's embedded etcd, the floor. Last it stops the
// server, starts it again on the same data, and measures how long the API and the
// controllers take to be back, and whether they rewrite any slice. It prints a
// markdown table of svcnet, the floor, their ratio and the targets, and
// writes it with details and the machine facts to a results file. The server is
// stopped (its process group killed) at the end, also on SIGINT.
//
// It deliberately builds nothing (it takes a built binary), runs no data plane (Pod
// IPs are 10.x addresses used as data only and nothing sends traffic to them),
// talks only to loopback and unix sockets, and is not a test: CI does not run it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the typed form of the flags.
type config struct {
	svcnet        string
	services      int
	pods          int
	namespaces    int
	nodes         int
	workers       int
	changes       int
	interval      time.Duration
	changeTimeout time.Duration
	settle        time.Duration
	seed          uint64
	out           string
}

func main() {
	cfg := config{}
	flag.StringVar(&cfg.svcnet, "svcnet", "./bin/svcnet", "svcnet binary to start (build it with `make build`)")
	flag.IntVar(&cfg.services, "services", 1000, "Services to create, each with its own selector")
	flag.IntVar(&cfg.pods, "pods", 100, "ready Pods per Service")
	flag.IntVar(&cfg.namespaces, "namespaces", 10, "namespaces the Services and Pods are spread over")
	flag.IntVar(&cfg.nodes, "nodes", 10, "Nodes the Pods are bound to")
	flag.IntVar(&cfg.workers, "workers", 32, "parallel clients of the fill")
	flag.IntVar(&cfg.changes, "changes", 500, "timed Pod readiness flips (and as many floor puts)")
	flag.DurationVar(&cfg.interval, "interval", 20*time.Millisecond, "pause after each flip is seen, and after each floor put")
	flag.DurationVar(&cfg.changeTimeout, "change-timeout", 10*time.Second, "a flip not seen in its slice within this long counts as missed")
	flag.DurationVar(&cfg.settle, "settle", 3*time.Second, "time to keep counting writes after the last flip, and after the restarted controllers are synced")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the random choice of Pods to flip")
	flag.StringVar(&cfg.out, "out", "bench/endpoints/results.md", "results file to write; empty writes none")
	flag.Parse()
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "bench/endpoints: %v\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench/endpoints: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case c.services < 1 || c.services > 100000:
		return fmt.Errorf("--services %d: want 1..100000", c.services)
	case c.pods < 1 || c.pods > 1000:
		// Beyond 1,000 the Endpoints object is truncated and no longer comparable.
		return fmt.Errorf("--pods %d: want 1..1000", c.pods)
	case c.services*c.pods > maxPods:
		return fmt.Errorf("--services x --pods = %d: want at most %d (one 10.x address each)", c.services*c.pods, maxPods)
	case c.namespaces < 1 || c.namespaces > 100:
		return fmt.Errorf("--namespaces %d: want 1..100", c.namespaces)
	case c.nodes < 1 || c.nodes > 1000:
		return fmt.Errorf("--nodes %d: want 1..1000", c.nodes)
	case c.workers < 1 || c.workers > 256:
		return fmt.Errorf("--workers %d: want 1..256", c.workers)
	case c.changes < 1 || c.changes > 100000:
		return fmt.Errorf("--changes %d: want 1..100000", c.changes)
	case c.interval < 0 || c.interval > time.Minute:
		return fmt.Errorf("--interval %v: want 0..1m", c.interval)
	case c.changeTimeout < time.Second || c.changeTimeout > 10*time.Minute:
		return fmt.Errorf("--change-timeout %v: want 1s..10m", c.changeTimeout)
	case c.settle < 0 || c.settle > 10*time.Minute:
		return fmt.Errorf("--settle %v: want 0..10m", c.settle)
	}
	return nil
}
