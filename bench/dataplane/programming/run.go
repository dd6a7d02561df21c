package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// stage is everything measured at one Service count.
type stage struct {
	services int
	fill     fillResult

	cold        syncEvent     // first full sync of an agent on a node without the table
	coldStartup time.Duration // agent start to the end of that sync
	warm        syncEvent     // first full sync of an agent restarted over its table
	warmStartup time.Duration
	periodic    []time.Duration // periodic full syncs seen during the flips

	memSynced, memAfter, memWarm procfs.Memory

	flips           []flip
	fullDuringFlips int // flips whose window overlapped a full sync

	incrCount, incrSum float64 // incremental syncs from the agent's metrics
	problems           []string
	// syncErr is set when the agent could not program the node at all (its
	// first full sync kept failing); then nothing else of the agent is timed.
	syncErr   string
	failStart time.Duration // agent start to giving up
	serverMem procfs.Memory
}

type results struct {
	cfg        config
	started    time.Time
	stages     []stage
	agentTable int // service ports of kubernetes + probe
}

func run(ctx context.Context, cfg config) error {
	if cfg.flips%2 == 1 {
		cfg.flips++
	}
	c := &cleanups{}
	defer c.run()
	res := results{cfg: cfg, started: time.Now()}

	logf("starting svcnet up")
	s, err := startServer(ctx, c, cfg.svcnet)
	if err != nil {
		return err
	}
	cs, err := s.Client()
	if err != nil {
		return err
	}
	apiAddr, err := s.apiAddr()
	if err != nil {
		return err
	}
	logf("server pid %d on %s, data in %s", s.Pid(), apiAddr, s.Dir)
	topo, err := buildTopology(c, apiAddr)
	if err != nil {
		return fmt.Errorf("build namespaces: %w", err)
	}
	// Before the namespaces go (cleanups run last-added first): remove the table.
	c.add(func() { _ = topo.node.command(s.Binary, "agent", "--cleanup", "--nftables-table", nftTable).Run() })
	l, err := topo.backend.listen(fmt.Sprintf("%s:%d", backendIP, probePort))
	if err != nil {
		return fmt.Errorf("backend listener: %w", err)
	}
	c.add(func() { l.Close() })
	go serveAccept(l)

	token, err := s.token(nodeName)
	if err != nil {
		return err
	}
	if err := ensureNamespace(ctx, cs); err != nil {
		return err
	}
	probe, err := createProbe(ctx, cs)
	if err != nil {
		return err
	}
	pr, err := startProber(topo.client, probe.vip, cfg.poll)
	if err != nil {
		return err
	}
	c.add(pr.close)
	logf("probe Service at %s -> %s:%d", probe.vip, backendIP, probePort)
	ca := filepath.Join(s.DataDir(), "pki", "ca.crt")
	res.agentTable = 2

	filled := 0
	for _, n := range cfg.sizes {
		st := stage{services: n}
		logf("stage %d: filling Services %d..%d", n, filled, n-1)
		if st.fill, err = fill(ctx, cs, filled, n, cfg.endpoints, cfg.workers); err != nil {
			return err
		}
		filled = n
		logf("stage %d: filled %d objects in %v (%.0f/s)", n, st.fill.objects(), st.fill.took.Round(time.Millisecond), st.fill.rate())
		ports := n + res.agentTable

		// Cold: a node without the table, as a fresh node or after --cleanup.
		if err := topo.node.run(s.Binary, "agent", "--cleanup", "--nftables-table", nftTable); err != nil {
			return err
		}
		a, err := startAgent(topo.node, s.Binary, s.Dir, token, ca, len(res.stages)*2)
		if err != nil {
			return err
		}
		stopA := func() { a.stop() }
		c.add(stopA)
		if st.cold, err = a.waitFullSync(ctx, ports, cfg.syncTimeout); err != nil {
			var failing errSyncFailing
			if !errors.As(err, &failing) {
				return err
			}
			st.syncErr = failing.line
			st.failStart = time.Since(a.started)
			st.memSynced, _ = a.memory()
			st.problems = append(st.problems, a.problems()...)
			logf("stage %d: %v", n, err)
			a.stop()
			st.serverMem, _ = procfs.ReadMemory(s.Pid())
			res.stages = append(res.stages, st)
			if cfg.out != "" {
				_ = os.WriteFile(cfg.out, []byte(render(res)), 0o644)
			}
			continue
		}
		st.coldStartup = st.cold.at.Sub(a.started)
		st.memSynced, _ = a.memory()
		logf("stage %d: cold full sync took %v (%v from agent start), agent RSS %s", n, st.cold.took, st.coldStartup.Round(time.Millisecond), fmtBytes(st.memSynced.RSS))
		if r := pr.ask(false, 30*time.Second); !r.ok {
			return fmt.Errorf("probe ClusterIP %s does not refuse before the flips: %v", probe.vip, r.lastErr)
		}
		time.Sleep(500 * time.Millisecond)
		flipsStart := time.Now()
		if st.flips, err = runFlips(ctx, probe, pr, cfg); err != nil {
			return err
		}
		for _, e := range a.events() {
			if e.full && e.at.After(st.cold.at) {
				st.periodic = append(st.periodic, e.took)
				if e.at.After(flipsStart) {
					for _, f := range st.flips {
						if e.at.Add(-e.took).Before(f.start.Add(f.latency)) && e.at.After(f.start) {
							st.fullDuringFlips++
						}
					}
				}
			}
		}
		if m, err := a.metrics(ctx); err == nil {
			st.incrCount, _ = metricValue(m, `svcnet_agent_sync_duration_seconds_count{kind="incremental"}`)
			st.incrSum, _ = metricValue(m, `svcnet_agent_sync_duration_seconds_sum{kind="incremental"}`)
		} else {
			logf("stage %d: scrape agent metrics: %v", n, err)
		}
		st.memAfter, _ = a.memory()
		st.problems = append(st.problems, a.problems()...)
		lat := latencies(st.flips)
		for i, f := range st.flips {
			// The outliers, for whoever reads the log: which way, and how many
			// connects it took (one that waited for the dial timeout shows as
			// about 500 ms).
			if f.latency > 100*time.Millisecond {
				logf("stage %d: slow flip %d to ready=%t: %v, %d connects, API call %v", n, i, f.ready, f.latency.Round(time.Millisecond), f.attempts, f.api.Round(time.Millisecond))
			}
		}
		logf("stage %d: %d flips, change-to-live p50 %v p99 %v; agent RSS %s HWM %s", n, len(st.flips),
			percentile(lat, 0.50), percentile(lat, 0.99), fmtBytes(st.memAfter.RSS), fmtBytes(st.memAfter.HWM))
		a.stop()

		// Warm: the agent restarts over the table it left.
		a2, err := startAgent(topo.node, s.Binary, s.Dir, token, ca, len(res.stages)*2+1)
		if err != nil {
			return err
		}
		c.add(func() { a2.stop() })
		if st.warm, err = a2.waitFullSync(ctx, ports, cfg.syncTimeout); err != nil {
			return err
		}
		st.warmStartup = st.warm.at.Sub(a2.started)
		time.Sleep(time.Second)
		st.memWarm, _ = a2.memory()
		st.problems = append(st.problems, a2.problems()...)
		logf("stage %d: restarted agent's full sync took %v (%v from start)", n, st.warm.took, st.warmStartup.Round(time.Millisecond))
		a2.stop()
		st.serverMem, _ = procfs.ReadMemory(s.Pid())
		res.stages = append(res.stages, st)
		// Write what is measured so far: a later stage may take long or fail.
		if cfg.out != "" {
			_ = os.WriteFile(cfg.out, []byte(render(res)), 0o644)
		}
	}

	report := render(res)
	fmt.Print(report)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		logf("wrote %s", cfg.out)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func latencies(fs []flip) []time.Duration {
	out := make([]time.Duration, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.latency)
	}
	slices.Sort(out)
	return out
}

// percentile of sorted ds, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
