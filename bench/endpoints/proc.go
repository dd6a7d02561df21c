package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
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

// memory is a process's resident set now and at its peak, and the resident set's
// anonymous (heap, stacks) and file-backed (etcd's mmapped database) parts.
type memory struct {
	rss, hwm, anon, file int64 // bytes
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("read process status: %w", err)
	}
	return parseStatus(string(b))
}

// parseStatus takes VmRSS and VmHWM from a /proc/<pid>/status text.
func parseStatus(status string) (memory, error) {
	var m memory
	seen := 0
	for _, line := range strings.Split(status, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM" && name != "RssAnon" && name != "RssFile") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("parse %s: %w", name, err)
		}
		switch name {
		case "VmRSS":
			m.rss = kb << 10
			seen++
		case "VmHWM":
			m.hwm = kb << 10
			seen++
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile":
			m.file = kb << 10
		}
	}
	if seen != 2 {
		return memory{}, errors.New("vmrss or vmhwm missing from process status")
	}
	return m, nil
}

// clockTick is the unit of CPU times in /proc (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

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
		c.server, _ = parseStat(string(b))
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

// parseStat returns utime+stime of a /proc/<pid>/stat line.
func parseStat(stat string) (time.Duration, error) {
	// The command name may hold spaces and parentheses; fields resume after the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed process stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process stat has %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse cpu ticks: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
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
	return time.Duration(all-idle) * clockTick, time.Duration(all) * clockTick, nil
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
