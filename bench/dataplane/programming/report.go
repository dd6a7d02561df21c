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
const (
	targetP99Services = 10000
	targetP99         = 100 * time.Millisecond
	targetSyncSvcs    = 30000
	targetSync        = 2 * time.Second
)

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**FAIL**"
}

func render(r results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# bench/dataplane/programming: latest results\n\n")
	w("- date: %s\n", r.started.UTC().Format("2006-01-02 15:04 MST"))
	w("- machine: %s, %d CPUs; kernel %s; %s\n", procfs.CPUModel(), runtime.NumCPU(), procfs.Kernel(), runtime.Version())
	src := r.cfg.source
	if src == "" {
		src = sourceTree()
	}
	w("- svcnet built from: %s\n", src)
	w("- command: `%s`\n", strings.Join(os.Args, " "))
	w("- each Service: one TCP port, a hand-written EndpointSlice of %d ready endpoints; the agent also programs `default/kubernetes` and the probe Service\n", r.cfg.endpoints)
	w("- flips per stage: %d (half to ready, half to not ready), fewer if a stage's flips pass %v; probe connect every %v, %v pause (+ up to half again) after each\n\n",
		r.cfg.flips, r.cfg.flipBudget, r.cfg.poll, r.cfg.pause)

	w("## Targets\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, st := range r.stages {
		if st.services == targetP99Services && st.syncErr != "" {
			w("| change-to-live p99 < %v at %s Services | the agent never programmed the node | **FAIL** |\n", targetP99, thousands(st.services))
		} else if st.services == targetP99Services {
			p99 := percentile(latencies(st.flips), 0.99)
			w("| change-to-live p99 < %v at %s Services | %s | %s |\n", targetP99, thousands(st.services), fmtDur(p99), verdict(p99 < targetP99 && missed(st.flips) == 0))
		}
	}
	for _, st := range r.stages {
		if st.services == targetSyncSvcs && st.syncErr != "" {
			w("| full sync < %v at %s Services | every full sync failed | **FAIL** |\n", targetSync, thousands(st.services))
		} else if st.services == targetSyncSvcs {
			w("| full sync < %v at %s Services, cold (no table) | %s | %s |\n", targetSync, thousands(st.services), fmtDur(st.cold.took), verdict(st.cold.took < targetSync))
			w("| full sync < %v at %s Services, agent restarted over its table | %s | %s |\n", targetSync, thousands(st.services), fmtDur(st.warm.took), verdict(st.warm.took < targetSync))
			if len(st.periodic) > 0 {
				worst := slices.Max(st.periodic)
				w("| full sync < %v at %s Services, periodic (worst of %d) | %s | %s |\n", targetSync, thousands(st.services), len(st.periodic), fmtDur(worst), verdict(worst < targetSync))
			}
		}
	}
	if last := r.stages[len(r.stages)-1].services; last < targetSyncSvcs {
		w("| full sync at %s Services | not reached (largest stage %s) | not measured |\n", thousands(targetSyncSvcs), thousands(last))
	}

	w("\n## Change to live\n\nFrom the start of the EndpointSlice update call to the first TCP connect from the client pod to the ClusterIP that shows the new state.\n\n")
	w("| Services | flips | p50 | p90 | p99 | max | to ready p50 / p99 | to not ready p50 / p99 | missed | API update call p50 | flips overlapping a full sync |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, st := range r.stages {
		if st.syncErr != "" {
			w("| %s | not measured: the agent never programmed the node (see below) |||||||||\n", thousands(st.services))
			continue
		}
		all := latencies(st.flips)
		var up, down []flip
		var api []time.Duration
		for _, f := range st.flips {
			if f.ready {
				up = append(up, f)
			} else {
				down = append(down, f)
			}
			api = append(api, f.api)
		}
		slices.Sort(api)
		lu, ld := latencies(up), latencies(down)
		w("| %s | %d | %s | %s | %s | %s | %s / %s | %s / %s | %d | %s | %d |\n", thousands(st.services), len(st.flips),
			fmtDur(percentile(all, .5)), fmtDur(percentile(all, .9)), fmtDur(percentile(all, .99)), fmtDur(percentile(all, 1)),
			fmtDur(percentile(lu, .5)), fmtDur(percentile(lu, .99)), fmtDur(percentile(ld, .5)), fmtDur(percentile(ld, .99)),
			missed(st.flips), fmtDur(percentile(api, .5)), st.fullDuringFlips)
	}

	w("\n## Full syncs and memory\n\n")
	w("| Services | fill (objects, rate) | cold full sync | agent start to synced (cold) | restarted agent's full sync | its start to synced | periodic full syncs (median, n) | incremental syncs (mean, n) | agent RSS synced | RSS after flips | VmHWM | RSS restarted | server RSS (with etcd) |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, st := range r.stages {
		if st.syncErr != "" {
			w("| %s | %s in %s (%.0f/s) | **failed** (gave up %s after start, %d failed syncs) | | | | | | %s | | %s | | %s |\n", thousands(st.services),
				thousands(st.fill.objects()), fmtDur(st.fill.took), st.fill.rate(), fmtDur(st.failStart), failedSyncs,
				fmtBytes(st.memSynced.RSS), fmtBytes(st.memSynced.HWM), fmtBytes(st.serverMem.RSS))
			continue
		}
		per := "none"
		if len(st.periodic) > 0 {
			p := slices.Clone(st.periodic)
			slices.Sort(p)
			per = fmt.Sprintf("%s (%d)", fmtDur(p[len(p)/2]), len(p))
		}
		incr := "n/a"
		if st.incrCount > 0 {
			incr = fmt.Sprintf("%s (%.0f)", fmtDur(time.Duration(st.incrSum/st.incrCount*float64(time.Second))), st.incrCount)
		}
		w("| %s | %s in %s (%.0f/s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", thousands(st.services),
			thousands(st.fill.objects()), fmtDur(st.fill.took), st.fill.rate(),
			fmtDur(st.cold.took), fmtDur(st.coldStartup), fmtDur(st.warm.took), fmtDur(st.warmStartup), per, incr,
			fmtBytes(st.memSynced.RSS), fmtBytes(st.memAfter.RSS), fmtBytes(max(st.memAfter.HWM, st.memSynced.HWM)),
			fmtBytes(st.memWarm.RSS), fmtBytes(st.serverMem.RSS))
	}
	var failures []string
	for _, st := range r.stages {
		if st.syncErr != "" {
			failures = append(failures, fmt.Sprintf("%s Services: %s", thousands(st.services), st.syncErr))
		}
	}
	if len(failures) > 0 {
		w("\n## Stages where the agent could not program the node\n\nEach line is the agent's first failed full sync; it retried with back-off and never succeeded.\n\n```\n%s\n```\n", strings.Join(failures, "\n"))
	}
	var problems []string
	for _, st := range r.stages {
		for _, p := range st.problems {
			problems = append(problems, fmt.Sprintf("%s Services: %s", thousands(st.services), p))
		}
	}
	if len(problems) > 0 {
		w("\n## Agent warnings and errors\n\n```\n%s\n```\n", strings.Join(problems, "\n"))
	} else {
		w("\nThe agents logged no warning or error.\n")
	}
	return b.String()
}

func missed(fs []flip) int {
	n := 0
	for _, f := range fs {
		if f.missed {
			n++
		}
	}
	return n
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtBytes(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func sourceTree() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--", "cmd", "internal").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		s += " with uncommitted changes under cmd/ or internal/"
	}
	return s
}
