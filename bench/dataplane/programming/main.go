// Command programming benchmarks how fast `svcnet agent` programs a node's data
// plane as the number of Services grows.
//
// It starts `svcnet up` from a built binary on a free loopback port, builds a
// node, a backend pod and a client pod as network namespaces it creates, and runs
// a real `svcnet agent` in the node namespace (reaching the API server through a
// relay this program runs). It fills the API with synthetic selector-less
// Services, each with a hand-written EndpointSlice of 10 endpoints, in stages (by
// default 1,000, 10,000 and 30,000 Services), and at each stage measures:
//
//   - the agent's first full sync on a node whose table was removed (cold), the
//     time from the agent's start to that sync, and the full sync of an agent
//     restarted over the table it left (warm); periodic full syncs seen while it
//     runs are recorded too;
//   - the agent's memory (VmRSS, VmHWM) once synced and after the changes;
//   - change-to-live latency: the EndpointSlice of one probe Service, whose only
//     endpoint is a real TCP server in the backend pod, is flipped between ready
//     and not ready; each flip is timed from the start of the API update call to
//     the first TCP connect from the client pod to the ClusterIP that shows the
//     new state (accepted, or reset by the no-endpoint rule).
//
// It prints a markdown report and writes it, with the machine facts, to a results
// file. Everything it creates (processes, namespaces, the agent's nftables table,
// the server's temp data dir) is removed at the end, also on error or interrupt.
//
// It deliberately builds nothing (it takes a built binary), sends traffic only to
// loopback and to addresses inside the namespaces it creates (the synthetic
// endpoints are never connected to), needs root, and is not a test: CI does not
// run it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the typed form of the flags.
type config struct {
	svcnet      string
	sizes       []int
	endpoints   int
	workers     int
	flips       int
	pause       time.Duration
	poll        time.Duration
	flipTimeout time.Duration
	flipBudget  time.Duration
	syncTimeout time.Duration
	out         string
	source      string
}

func main() {
	cfg := config{}
	var sizes string
	flag.StringVar(&cfg.svcnet, "svcnet", "./bin/svcnet", "svcnet binary to run (build it with `make build`)")
	flag.StringVar(&sizes, "services", "1000,10000,30000", "comma-separated Service counts of the stages, ascending")
	flag.IntVar(&cfg.endpoints, "endpoints", 10, "endpoints in each synthetic Service's EndpointSlice")
	flag.IntVar(&cfg.workers, "workers", 32, "parallel API clients of the fill")
	flag.IntVar(&cfg.flips, "flips", 100, "timed probe flips per stage (half to ready, half to not ready)")
	flag.DurationVar(&cfg.pause, "pause", 100*time.Millisecond, "pause after each flip is seen live")
	flag.DurationVar(&cfg.poll, "poll", time.Millisecond, "interval between two probe connects")
	flag.DurationVar(&cfg.flipTimeout, "flip-timeout", time.Minute, "a flip not live by then counts as missed")
	flag.DurationVar(&cfg.flipBudget, "flip-budget", 2*time.Minute, "stop flipping a stage after this long (at least 10 flips are made)")
	flag.DurationVar(&cfg.syncTimeout, "sync-timeout", 5*time.Minute, "longest wait for an agent's first sync")
	flag.StringVar(&cfg.source, "source", "", "what the svcnet binary was built from, for the report (default: this checkout's commit)")
	flag.StringVar(&cfg.out, "out", "", "file to write the markdown report to; empty writes none")
	flag.Parse()
	var err error
	if cfg.sizes, err = parseSizes(sizes); err == nil {
		err = cfg.validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/dataplane/programming: %v\n", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		cancel(fmt.Errorf("interrupted by %v", sig))
	}()
	stop := func() { signal.Stop(sigs); cancel(nil) }
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench/dataplane/programming: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("--services %q: %w", s, err)
		}
		if n < 1 || n > 100000 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("--services %q: want ascending counts in 1..100000", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (c config) validate() error {
	switch {
	case os.Geteuid() != 0:
		return fmt.Errorf("needs root (network namespaces, nftables)")
	case c.endpoints < 1 || c.endpoints > 100:
		return fmt.Errorf("--endpoints %d: want 1..100", c.endpoints)
	case c.workers < 1 || c.workers > 256:
		return fmt.Errorf("--workers %d: want 1..256", c.workers)
	case c.flips < 2 || c.flips > 10000:
		return fmt.Errorf("--flips %d: want 2..10000", c.flips)
	case c.poll <= 0 || c.poll > time.Second:
		return fmt.Errorf("--poll %v: want (0, 1s]", c.poll)
	case c.flipTimeout <= 0 || c.syncTimeout <= 0 || c.flipBudget <= 0 || c.pause < 0:
		return fmt.Errorf("--flip-timeout, --sync-timeout must be > 0 and --pause >= 0")
	}
	return nil
}
