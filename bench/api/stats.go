package main

import (
	"slices"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted, or 0
// for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// median returns the middle value of ds (the mean of the two middle ones for an even
// count) without reordering ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// cost is the CPU spent by the server, by this program and by the whole machine
// over a phase.
type cost struct {
	server, bench time.Duration
	machine       machineCPU
}

// busy is the share of the machine's CPU time that was in use (stolen time counts
// as in use: nobody here could have it).
func (c cost) busy() float64 {
	total := c.machine.busy + c.machine.idle + c.machine.steal
	if total <= 0 {
		return 0
	}
	return float64(c.machine.busy+c.machine.steal) / float64(total)
}

// cpuMeter samples CPU time of the server and of this program.
type cpuMeter struct {
	pid int
}

func (m cpuMeter) now() cost {
	s, _ := procfs.ReadCPU(m.pid)
	mc, _ := readMachineCPU()
	return cost{server: s, bench: selfCPU(), machine: mc}
}

func (m cpuMeter) since(start cost) cost {
	n := m.now()
	return cost{
		server: n.server - start.server,
		bench:  n.bench - start.bench,
		machine: machineCPU{
			busy:  n.machine.busy - start.machine.busy,
			idle:  n.machine.idle - start.machine.idle,
			steal: n.machine.steal - start.machine.steal,
		},
	}
}

// phase is the outcome of one timed batch of operations.
type phase struct {
	name     string
	ops      int
	wall     time.Duration
	lat      []time.Duration // per operation, sorted
	cpu      cost
	errs     int
	firstErr error
	// handler is the server's mean in-handler time per request; 0 for etcd phases.
	handler time.Duration
}

// mean is the mean per-operation latency.
func (p phase) mean() time.Duration {
	if len(p.lat) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range p.lat {
		sum += d
	}
	return sum / time.Duration(len(p.lat))
}

// rate is operations per second.
func (p phase) rate() float64 {
	if p.wall <= 0 {
		return 0
	}
	return float64(p.ops) / p.wall.Seconds()
}

// perOp divides d over the phase's operations.
func (p phase) perOp(d time.Duration) time.Duration {
	if p.ops == 0 {
		return 0
	}
	return d / time.Duration(p.ops)
}
