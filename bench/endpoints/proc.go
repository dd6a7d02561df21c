package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// metrics is one scrape of the server's /metrics: sample lines keyed by their
// name and labels as written, e.g. `x_total{result="success"}`.
type metrics map[string]float64

func scrapeMetrics(ctx context.Context, rc rest.Interface) (metrics, error) {
	body, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scrape /metrics: %w", err)
	}
	return parseMetrics(string(body))
}

func parseMetrics(text string) (metrics, error) {
	m := metrics{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("malformed metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	return m, nil
}

// sum adds every series of the metric name, whatever its labels.
func (m metrics) sum(name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// cost is the CPU used by the server, by this program, and the share of the
// machine's CPU in use, over a phase.
type cost struct {
	server, bench time.Duration
	busy, total   time.Duration // machine-wide; stolen time counts as busy
}

func (c cost) busyShare() float64 {
	if c.total <= 0 {
		return 0
	}
	return float64(c.busy) / float64(c.total)
}

type cpuMeter struct{ pid int }

func (m cpuMeter) now() cost {
	var c cost
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.pid)); err == nil {
		c.server, _ = procfs.ParseStat(string(b))
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		c.busy, c.total, _ = parseMachine(line)
	}
	return c
}

func (m cpuMeter) since(start cost) cost {
	n := m.now()
	return cost{server: n.server - start.server, bench: n.bench - start.bench, busy: n.busy - start.busy, total: n.total - start.total}
}

// parseMachine returns busy (including stolen) and total CPU time of the "cpu" line
// of /proc/stat.
func parseMachine(line string) (busy, total time.Duration, err error) {
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat cpu line %q", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
	}
	idle := v[3] + v[4]
	var all int64
	for _, x := range v {
		all += x
	}
	return time.Duration(all-idle) * procfs.ClockTick, time.Duration(all) * procfs.ClockTick, nil
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted, or 0
// for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// sorted returns a sorted copy.
func sorted(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}
