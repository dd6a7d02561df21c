package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// Targets from the issue.
const latencyTarget = 100 * time.Millisecond

// row is one line of the summary table.
type row struct {
	metric, svcnet, floor, ratio, target, result string
}

func verdict(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

// onePerChange reports whether every flip caused exactly one slice write, on its
// own Service's slice, and nothing else wrote a slice.
func onePerChange(c changeResult) bool {
	return c.sliceWrites == c.changes && c.perChange[1] == c.changes && c.foreign == 0
}

// summary is the headline table: svcnet, the etcd floor of the same run, their
// ratio and the target.
func summary(r results) []row {
	c, rs := r.changes, r.restart
	n := fmt.Sprintf("%s Services x %d Pods", thousands(r.cfg.services), r.cfg.pods)
	p50, p99 := percentile(c.lat, 50), percentile(c.lat, 99)
	f50, f99 := percentile(c.floorPut, 50), percentile(c.floorPut, 99)
	missed := ""
	if c.missed > 0 {
		missed = fmt.Sprintf(" (%d missed)", c.missed)
	}
	probe := fmtDur(rs.probeSeen)
	if rs.probeMissed {
		probe = "never"
	}
	none := func(metric, value string) row {
		return row{metric: metric, svcnet: value, floor: "—", ratio: "—", target: "—", result: "—"}
	}
	return []row{
		{metric: fmt.Sprintf("Ready flip to slice event, p50 (%d flips, %s)", c.changes, n),
			svcnet: fmtDur(p50), floor: fmtDur(f50) + " put", ratio: fmtRatio(ratio(p50, f50)), target: "—", result: "—"},
		{metric: "Ready flip to slice event, p99",
			svcnet: fmtDur(p99) + missed, floor: fmtDur(f99) + " put", ratio: fmtRatio(ratio(p99, f99)),
			target: "< 100 ms", result: verdict(c.missed == 0 && len(c.lat) > 0 && p99 < latencyTarget)},
		{metric: "EndpointSlice writes per flip",
			svcnet: fmt.Sprintf("%.2f (%d / %d)", perFlip(c.sliceWrites, c.changes), c.sliceWrites, c.changes),
			floor:  "—", ratio: "—", target: "exactly 1", result: verdict(onePerChange(c))},
		none("Endpoints (core/v1) writes per flip, for information",
			fmt.Sprintf("%.2f (%d / %d)", perFlip(c.epWrites, c.changes), c.epWrites, c.changes)),
		none("restart: process start to API ready", fmtDur(rs.apiReady)),
		none("restart: process start to a fresh flip in its slice", probe),
		none("restart: process start to the new server holding the controllers' Lease", fmtDur(rs.leaseAcquired)),
		none(fmt.Sprintf("restart: process start to slice controller through all %s Services", thousands(r.cfg.services)), fmtDur(rs.sliceSynced)),
		{metric: "restart: slice writes not caused by the probe flip",
			svcnet: fmt.Sprintf("%d (of %s slices)", rs.otherWrites, thousands(rs.slices)), floor: "—", ratio: "—",
			target: "0", result: verdict(rs.otherWrites == 0 && rs.changedSlices == 0)},
		none(fmt.Sprintf("server RSS after the fill (%s Pods)", thousands(r.cfg.services*r.cfg.pods)), fmtBytes(r.afterFill.RSS)),
		none("server peak RSS (VmHWM) after the fill", fmtBytes(r.afterFill.HWM)),
	}
}

// render writes the whole results document.
func render(r results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c, rs, cfg := r.changes, r.restart, r.cfg
	w("# svcnet endpoints benchmark results\n\n")
	w("- Date: %s\n", r.started.Format("2006-01-02 15:04 UTC"))
	w("- Machine: %d CPUs (%s), Linux %s\n", runtime.NumCPU(), procfs.CPUModel(), procfs.Kernel())
	w("- Go: %s (benchmark); svcnet %s, source tree %s at the start of the run\n", runtime.Version(), r.svcnetVer, r.tree)
	w("- Command: `%s`\n", commandLine())
	w("- Settings: %s Services x %d Pods = %s Pods in %d namespaces on %d Nodes; fill with %d clients; %d flips, %v pause after each flip and each floor put; settle %v; seed %d; client-go protobuf\n\n",
		thousands(cfg.services), cfg.pods, thousands(cfg.services*cfg.pods), min(cfg.namespaces, cfg.services), cfg.nodes, cfg.workers,
		cfg.changes, cfg.interval, cfg.settle, cfg.seed)

	w("| metric | svcnet | etcd floor | ratio | target | result |\n|---|---:|---:|---:|---|---|\n")
	for _, x := range summary(r) {
		w("| %s | %s | %s | %s | %s | %s |\n", x.metric, x.svcnet, x.floor, x.ratio, x.target, x.result)
	}
	w("\nThe floor is one etcd put of a stored EndpointSlice's bytes (%s) to the server's embedded etcd, through its unix socket,\n", fmtBytes(int64(c.valueSize)))
	w("made one at a time between the flips of the same run. Ratio is svcnet / floor; lower is better.\n\n")

	w("## Fill\n\n| part | objects | wall | per s |\n|---|---:|---:|---:|\n")
	w("| Pods: create, then status Running and Ready (%d clients) | %s writes | %s | %.0f |\n", cfg.workers, thousands(r.fill.podWrites), fmtDur(r.fill.pods), rate(r.fill.podWrites, r.fill.pods))
	w("| Services (%d clients) | %s | %s | %.0f |\n", cfg.workers, thousands(cfg.services), fmtDur(r.fill.services), rate(cfg.services, r.fill.services))
	w("| then until every slice and Endpoints object lists every Pod ready | %s endpoints | %s | — |\n\n", thousands(cfg.services*cfg.pods), fmtDur(r.fill.converge))
	w("Pods are created before their Services, so each Service's slice is created once with all its Pods.\n\n")

	w("## Readiness flips\n\n| from the start of the status write to | seen | missed | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range []struct {
		name   string
		ds     []time.Duration
		missed int
	}{
		{"the EndpointSlice event showing it", c.lat, c.missed},
		{"the Endpoints event showing it", c.epLat, c.epMissed},
		{"the status write's response (pods/status)", c.call, 0},
		{"floor: the etcd put's response", c.floorPut, 0},
		{"floor: the etcd put's watch event", c.floorEv, c.floorMissed},
	} {
		w("| %s | %d | %d | %s | %s | %s | %s |\n", x.name, len(x.ds), x.missed, fmtDur(percentile(x.ds, 50)), fmtDur(percentile(x.ds, 90)),
			fmtDur(percentile(x.ds, 99)), fmtDur(percentile(x.ds, 100)))
	}
	w("\n%d flips (%d to ready, %d to not ready) of Pods picked at random, one at a time: each waits until it shows in its slice and Endpoints,\n", c.changes, c.toReady, c.changes-c.toReady)
	w("then %v, one floor put, %v. Events are from one watch of each kind over all namespaces, on a connection of its own.\n\n", cfg.interval, cfg.interval)

	w("## Writes per flip\n\n| | EndpointSlice | Endpoints |\n|---|---:|---:|\n")
	w("| writes seen on the watches, first flip to %v after the last | %d | %d |\n", cfg.settle, c.sliceWrites, c.epWrites)
	w("| per flip | %.2f | %.2f |\n", perFlip(c.sliceWrites, c.changes), perFlip(c.epWrites, c.changes))
	w("| the controller's own write counter over the same time | %.0f | %.0f |\n\n", c.metricSlice, c.metricEndpoints)
	w("Slice writes in each flip's window (its start to the next flip's start): ")
	keys := make([]int, 0, len(c.perChange))
	for k := range c.perChange {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d flips saw %d", c.perChange[k], k))
	}
	w("%s; writes to another Service's slice in a window: %d.\n", strings.Join(parts, ", "), c.foreign)
	w("During the flips the server used %s CPU per flip, this program %s; the machine was %.0f%% busy.\n\n",
		fmtDur(perOp(c.cpu.server, c.changes)), fmtDur(perOp(c.cpu.bench, c.changes)), 100*c.cpu.busyShare())

	w("## Restart on the same data\n\n| | value |\n|---|---:|\n")
	killed := ""
	if rs.killed {
		killed = " (SIGKILLed)"
	}
	w("| old server: SIGTERM to exit | %s%s |\n", fmtDur(rs.shutdown), killed)
	w("| process start to API ready (`kubernetes` Service read) | %s |\n", fmtDur(rs.apiReady))
	held := "released (no holder)"
	if rs.leaseHolder != "" {
		held = fmt.Sprintf("still held by the stopped server (renewed %s before the new process started)", fmtDur(rs.started.Sub(rs.leaseRenewed)))
	}
	w("| controllers' Lease when the API was ready | %s |\n", held)
	w("| process start to the Lease acquired by the new server | %s |\n", fmtDur(rs.leaseAcquired))
	w("| process start to the EndpointSlice controller's first sync (its caches synced) | %s |\n", fmtDur(rs.sliceFirst))
	w("| process start to the probe flip in its slice | %s |\n", fmtDur(rs.probeSeen))
	w("| process start to the probe flip in its Endpoints | %s |\n", fmtDur(rs.probeEpSeen))
	w("| probe flip: status write to slice event | %s |\n", fmtDur(rs.probeLat))
	w("| process start to EndpointSlice controller through all %s Services | %s |\n", thousands(cfg.services), fmtDur(rs.sliceSynced))
	w("| of which after the Lease was acquired / after the first sync | %s / %s |\n", fmtDur(rs.sliceSynced-rs.leaseAcquired), fmtDur(rs.sliceSynced-rs.sliceFirst))
	w("| process start to Endpoints controller through all %s Services | %s |\n", thousands(cfg.services), fmtDur(rs.epSynced))
	w("| slice writes: on the probe's Service / any other | %d / %d |\n", rs.probeWrites, rs.otherWrites)
	w("| slices with a new resourceVersion, probe's left out | %d of %s |\n", rs.changedSlices, thousands(rs.slices))
	w("| Endpoints writes: on the probe's Service / any other | %d / %d |\n", rs.probeEpWrites, rs.otherEpWrites)
	w("| Endpoints with a new resourceVersion, probe's left out | %d of %s |\n", rs.changedEndpoints, thousands(rs.endpoints))
	w("| restarted controllers' own write counters (slices / Endpoints) | %.0f / %.0f |\n\n", rs.metricSlice, rs.metricEps)
	w("The probe flip (a Pod of %s) is written as soon as the API answers. Writes are counted on watches from the last\n", rs.probe)
	w("revision before the stop, until %v after both controllers had gone through every Service (their sync counters) and\n", cfg.settle)
	w("their write counters had then been still for 2 s. The new server's controllers start only once it holds the Lease, so the\n")
	w("times after the Lease row include waiting for it.\n\n")

	w("## Memory (server process, etcd included)\n\n| when | VmRSS | VmHWM | RSS anonymous | RSS file-backed | Go heap in use | live at last GC | etcd database (in use) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range []struct {
		name string
		m    memSample
	}{
		{"idle after start", r.idle},
		{fmt.Sprintf("after the fill (%s Services, %s Pods, their slices and Endpoints)", thousands(cfg.services), thousands(cfg.services*cfg.pods)), r.afterFill},
		{"restarted server, controllers synced", rs.mem},
	} {
		w("| %s | %s | %s | %s | %s | %s | %s | %s (%s) |\n", x.name, fmtBytes(x.m.RSS), fmtBytes(x.m.HWM), fmtBytes(x.m.Anon), fmtBytes(x.m.File),
			fmtBytes(x.m.heapInuse), fmtBytes(x.m.liveHeap), fmtBytes(x.m.dbSize), fmtBytes(x.m.dbInUse))
	}
	w("\nThe Go heap is the whole process's: API server, controllers' informer caches and etcd's own structures. svcnet sets\n")
	w("GOGC=200 unless GOGC is set, so the heap grows to about 3x what the last GC left live before the next GC; the live column\n")
	w("estimates that as the server's next-GC target / (1 + GOGC/100), from its /metrics. The file-backed\n")
	w("part is the svcnet binary's own pages (the idle row) plus what is resident of etcd's memory-mapped database, which keeps\n")
	w("every revision as compaction is off in this run.\n")
	if r.conflicts > 0 {
		w("\nPod status writes refused for a stale resourceVersion (read and retried): %d.\n", r.conflicts)
	}
	return b.String()
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func perFlip(writes, changes int) float64 {
	if changes == 0 {
		return 0
	}
	return float64(writes) / float64(changes)
}

func perOp(d time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func fmtRatio(x float64) string { return fmt.Sprintf("%.1fx", x) }

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func fmtBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// commandLine is how this run was started; a `go run` binary shows as `go run`.
func commandLine() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./bench/endpoints"
	}
	return strings.Join(append([]string{name}, os.Args[1:]...), " ")
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("run %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// sourceTree names the commit checked out in the working directory, if any.
func sourceTree() string {
	out, err := execOutput("git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown"
	}
	return out
}
