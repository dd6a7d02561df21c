// Command api benchmarks the svcnet API server against the etcd it runs on.
//
// It starts `svcnet up` from a given binary in a temporary data dir on a free
// loopback port, then measures, in one run, the svcnet operation and the same
// operation straight against the server's embedded etcd (through its unix socket) as
// the floor: Service creates with 1 and with 32 parallel clients, a list of all
// Services (JSON and meta.k8s.io Table), write-to-event latency for 100 concurrent
// watchers, and the server's memory with N Services stored. It prints a markdown
// table of svcnet, the floor, their ratio and the target, and writes it with the
// machine facts to a results file. The server is stopped (its process group killed)
// at the end.
//
// It deliberately builds nothing (it takes a built binary), talks only to loopback
// and unix sockets, and is not a test: CI does not run it.
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
	clients       int
	watchers      int
	watchEvents   int
	watchInterval time.Duration
	listReps      int
	protobuf      bool
	out           string
	cpuProfile    string
	profileSecs   int
}

func main() {
	cfg := config{}
	flag.StringVar(&cfg.svcnet, "svcnet", "./bin/svcnet", "svcnet binary to start (build it with `make build`)")
	flag.IntVar(&cfg.services, "services", 10000, "Services to create in each create phase (and to list)")
	flag.IntVar(&cfg.clients, "clients", 32, "parallel clients of the parallel create phase")
	flag.IntVar(&cfg.watchers, "watchers", 100, "concurrent watchers")
	flag.IntVar(&cfg.watchEvents, "watch-events", 200, "timed writes each watcher must see")
	flag.DurationVar(&cfg.watchInterval, "watch-interval", 20*time.Millisecond, "time between the starts of two timed writes")
	flag.IntVar(&cfg.listReps, "list-reps", 7, "timed repetitions of each list (after one untimed)")
	flag.BoolVar(&cfg.protobuf, "protobuf", false, "client-go speaks protobuf instead of its default JSON (lists stay as stated)")
	flag.StringVar(&cfg.out, "out", "bench/api/results.md", "results file to write; empty writes none")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the server's CPU profile of the parallel create phase here (from its /debug/pprof/profile)")
	flag.IntVar(&cfg.profileSecs, "cpuprofile-seconds", 2, "length of that profile; keep it below the phase's wall time")
	relayDir := flag.String("relay-serve", "", "internal: serve as the HTTPS relay floor in this dir (the benchmark starts itself so)")
	relayValue := flag.String("relay-value", "", "internal: the file whose bytes the relay stores for every create")
	flag.Parse()
	if *relayDir != "" {
		if err := serveRelay(*relayDir, *relayValue); err != nil {
			fmt.Fprintf(os.Stderr, "bench/api: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "bench/api: %v\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench/api: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case c.services < 1 || c.services > 100000:
		return fmt.Errorf("--services %d: want 1..100000", c.services)
	case c.clients < 1 || c.clients > 256:
		return fmt.Errorf("--clients %d: want 1..256", c.clients)
	case c.watchers < 1 || c.watchers > 1000:
		return fmt.Errorf("--watchers %d: want 1..1000", c.watchers)
	case c.watchEvents < 1 || c.watchEvents > 100000:
		return fmt.Errorf("--watch-events %d: want 1..100000", c.watchEvents)
	case c.watchInterval < 0:
		return fmt.Errorf("--watch-interval %v: want >= 0", c.watchInterval)
	case c.profileSecs < 1:
		return fmt.Errorf("--cpuprofile-seconds %d: want >= 1", c.profileSecs)
	case c.listReps < 1 || c.listReps > 1000:
		return fmt.Errorf("--list-reps %d: want 1..1000", c.listReps)
	}
	return nil
}
