package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// Targets from the issue, against the reference CoreDNS ("coredns").
const (
	targetQPS = 1.5 // svcnet queries/s >= 1.5x CoreDNS
	reference = "coredns"
)

// median is one server's medians over the rounds for one query kind.
type median struct {
	qps, perCPU, cpu float64
	client           float64
	p50, p99         time.Duration
	lost             int
	rcodes           map[string]int
	n                int
}

func (r *results) median(server, kind string) (median, bool) {
	var qps, perCPU, cpu, client []float64
	var p50, p99 []time.Duration
	m := median{rcodes: map[string]int{}}
	for _, p := range r.passes {
		if p.server != server || p.kind != kind {
			continue
		}
		qps, perCPU, cpu = append(qps, p.qps), append(perCPU, p.perCPUSecond()), append(cpu, p.cpuShare())
		client = append(client, p.clientShare())
		p50, p99 = append(p50, p.p50), append(p99, p.p99)
		m.lost += p.lost
		for k, v := range p.rcodes {
			m.rcodes[k] += v
		}
		m.n++
	}
	if m.n == 0 {
		return m, false
	}
	m.qps, m.perCPU, m.cpu, m.client = medianOf(qps), medianOf(perCPU), medianOf(cpu), medianOf(client)
	m.p50, m.p99 = medianOf(p50), medianOf(p99)
	return m, true
}

func medianOf[T float64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**FAIL**"
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func lat(d time.Duration) string {
	if d >= 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d us", d.Microseconds())
}

func num(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[0] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func title(server string) string { return serverInfo[server].title }

func (r *results) has(server string) bool { return slices.Contains(r.servers, server) }

func (r *results) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	cfg := r.cfg
	l := r.fill.l
	headless := 0
	for i := range l.services {
		if l.headless(i) {
			headless++
		}
	}
	source := cfg.source
	if source == "" {
		source = "the binary given (" + cfg.svcnet + ")"
	}

	w("# bench/dns: latest results")
	w("")
	w("Written by `bench/dns/run.sh`; see README.md for what is measured and how to read it.")
	w("")
	w("- date: %s", r.started.UTC().Format("2006-01-02 15:04 UTC"))
	w("- machine: %s, %d CPUs; kernel %s; %s", procfs.CPUModel(), runtime.NumCPU(), procfs.Kernel(), runtime.Version())
	w("- load average (1, 5, 15 min) at the start: %s; at the end: %s (the machine is shared; the servers are measured interleaved, so compare the ratios)", r.loadStart, r.loadEnd)
	w("- svcnet built from: %s", source)
	if r.corednsVer != "" {
		cs := cfg.corednsSource
		if cs == "" {
			cs = cfg.coredns
		}
		w("- CoreDNS: %s, built from %s", r.corednsVer, cs)
	}
	w("- dnsperf %s, `-c %d -q %d -l %d -v`, UDP over loopback, pinned to CPU %d; every DNS server pinned to CPU %d (`taskset`; Go then runs with GOMAXPROCS=1)",
		r.dnsperfVer, cfg.clients, cfg.outstanding, int(cfg.duration.Seconds()), cfg.clientCPU, cfg.serverCPU)
	w("- data: %s Services (%s ClusterIP with two named TCP ports, %s headless) in %d namespaces, %s Pods (Running, Ready, one IP each) on %d Nodes, %d per Service; EndpointSlices written by svcnet's controller",
		num(float64(l.services)), num(float64(l.services-headless)), num(float64(headless)), l.namespaces, num(float64(l.pods)), l.nodes, l.pods/l.services)
	w("- each figure is the median of %d rounds of %v per query kind and server; in each round the servers run one after another, their order rotated", cfg.rounds, cfg.duration)
	w("- command: `%s`", strings.Join(os.Args, " "))
	w("")
	w("Servers:")
	w("")
	for _, s := range allServers {
		switch {
		case r.has(s):
			w("- **%s** (`%s`): %s", title(s), s, serverInfo[s].config)
		case s == "svcnet" && r.svcnetSkipped != "":
			w("- **%s**: not measured: %s", title(s), r.svcnetSkipped)
		}
	}
	w("")

	if r.has("svcnet") && r.has(reference) {
		r.targets(w)
	} else {
		w("## Targets")
		w("")
		w("Not judged: this run did not measure both svcnet's DNS and the reference CoreDNS (`%s`).", reference)
		w("")
	}
	r.everyServer(w)
	r.ratiosToOthers(w)
	r.memoryTable(w)
	r.roundsTable(w)
	r.fillTable(w)
	if r.profileTop != "" {
		w("## Where svcnet's DNS spends its CPU")
		w("")
		w("`go tool pprof -top` of a %v CPU profile of the agent (`--profiling`) under the A load:", cfg.profile)
		w("")
		w("```")
		b.WriteString(strings.TrimSpace(r.profileTop))
		w("")
		w("```")
		w("")
	}
	if r.heapTop != "" {
		w("## What svcnet's DNS holds in memory")
		w("")
		w("`go tool pprof -top -sample_index=inuse_space` of the agent's heap profile (after a GC), taken after the runs:")
		w("")
		w("```")
		b.WriteString(strings.TrimSpace(r.heapTop))
		w("")
		w("```")
		w("")
	}
	return b.String()
}

func (r *results) targets(w func(string, ...any)) {
	w("## Targets: svcnet / CoreDNS")
	w("")
	w("Ratios are svcnet / %s (`%s`). Targets from the issue: queries/s >= %.1fx, p99 latency <= 1.00x (equal or lower), memory < 1.00x.", title(reference), reference, targetQPS)
	w("")
	w("| figure | svcnet | CoreDNS | svcnet / CoreDNS | target | verdict |")
	w("|---|---:|---:|---:|---|---|")
	qpsOK, p99OK := true, true
	for _, k := range qtypes {
		s, _ := r.median("svcnet", k.key)
		c, _ := r.median(reference, k.key)
		ratio := s.qps / c.qps
		ok := ratio >= targetQPS
		qpsOK = qpsOK && ok
		w("| %s: queries/s | %s | %s | %.2fx | >= %.1fx | %s |", k.title, num(s.qps), num(c.qps), ratio, targetQPS, verdict(ok))
		pr := float64(s.p99) / float64(c.p99)
		ok = s.p99 <= c.p99
		p99OK = p99OK && ok
		w("| %s: p99 latency | %s | %s | %.2fx | <= 1.00x | %s |", k.title, lat(s.p99), lat(c.p99), pr, verdict(ok))
		w("| %s: p50 latency | %s | %s | %.2fx | — | — |", k.title, lat(s.p50), lat(c.p50), float64(s.p50)/float64(c.p50))
		w("| %s: queries per CPU-second of the server | %s | %s | %.2fx | — | — |", k.title, num(s.perCPU), num(c.perCPU), s.perCPU/c.perCPU)
	}
	sm, cm := r.memAfter["svcnet"], r.memAfter[reference]
	memOK := sm.RSS < cm.RSS && r.memReady["svcnet"].RSS < r.memReady[reference].RSS
	w("| RSS once ready (after the fill) | %s | %s | %.2fx | < 1.00x | %s |", mib(r.memReady["svcnet"].RSS), mib(r.memReady[reference].RSS),
		float64(r.memReady["svcnet"].RSS)/float64(r.memReady[reference].RSS), verdict(r.memReady["svcnet"].RSS < r.memReady[reference].RSS))
	w("| RSS after the runs | %s | %s | %.2fx | < 1.00x | %s |", mib(sm.RSS), mib(cm.RSS), float64(sm.RSS)/float64(cm.RSS), verdict(sm.RSS < cm.RSS))
	w("| peak RSS (VmHWM) after the runs | %s | %s | %.2fx | — | — |", mib(sm.HWM), mib(cm.HWM), float64(sm.HWM)/float64(cm.HWM))
	w("| anonymous RSS after the runs (heap and stacks, without the mapped binary) | %s | %s | %.2fx | — | — |", mib(sm.Anon), mib(cm.Anon), float64(sm.Anon)/float64(cm.Anon))
	w("")
	w("| target | verdict |")
	w("|---|---|")
	w("| queries/s >= %.1fx CoreDNS on every query kind | %s |", targetQPS, verdict(qpsOK))
	w("| p99 latency equal or lower than CoreDNS on every query kind | %s |", verdict(p99OK))
	w("| less memory than CoreDNS (RSS once ready and after the runs) | %s |", verdict(memOK))
	w("")
}

func (r *results) everyServer(w func(string, ...any)) {
	w("## Every server")
	w("")
	w("Medians over the rounds. \"server CPU\" is the server's CPU time per second of the pass (1.00 = its one CPU busy the whole pass; below about 0.9 the client or the machine held it back). \"dnsperf CPU\" is the same for the client (near 1.00, its one CPU was the limit, not the server). \"per CPU-s\" is queries answered per second of the server's CPU time. Lost is summed over the rounds.")
	w("")
	w("| query | server | queries/s | p50 | p99 | server CPU | dnsperf CPU | per CPU-s | lost | answers |")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, k := range qtypes {
		for _, s := range r.servers {
			m, ok := r.median(s, k.key)
			if !ok {
				continue
			}
			w("| %s | %s | %s | %s | %s | %.2f | %.2f | %s | %d | %s |", k.title, title(s), num(m.qps), lat(m.p50), lat(m.p99), m.cpu, m.client, num(m.perCPU), m.lost, rcodes(m.rcodes))
		}
	}
	w("")
}

func rcodes(m map[string]int) string {
	total := 0
	for _, v := range m {
		total += v
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.1f%%", k, 100*float64(m[k])/float64(max(total, 1))))
	}
	return strings.Join(parts, ", ")
}

// ratiosToOthers shows svcnet against every CoreDNS variant measured, for information.
func (r *results) ratiosToOthers(w func(string, ...any)) {
	if !r.has("svcnet") {
		return
	}
	var others []string
	for _, s := range r.servers {
		if s != "svcnet" {
			others = append(others, s)
		}
	}
	if len(others) == 0 {
		return
	}
	w("## svcnet / each CoreDNS, queries/s and p99")
	w("")
	head := "| query |"
	sep := "|---|"
	for _, o := range others {
		head += " / " + title(o) + " q/s | p99 |"
		sep += "---:|---:|"
	}
	w("%s", head)
	w("%s", sep)
	for _, k := range qtypes {
		s, _ := r.median("svcnet", k.key)
		row := "| " + k.title + " |"
		for _, o := range others {
			c, _ := r.median(o, k.key)
			row += fmt.Sprintf(" %.2fx | %.2fx |", s.qps/c.qps, float64(s.p99)/float64(c.p99))
		}
		w("%s", row)
	}
	w("")
}

func (r *results) memoryTable(w func(string, ...any)) {
	w("## Memory and start")
	w("")
	w("RSS (VmRSS) with its anonymous part, and the peak (VmHWM), of each server process: once it was ready and answering (5 s later), and after every pass. Start is from the process start to ready (readiness endpoint 200 and the last-created Service answering), listing the API alone.")
	w("")
	w("| server | RSS once ready | anon | RSS after the runs | anon | peak RSS | start to ready | errors in its log |")
	w("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.servers {
		a, b := r.memReady[s], r.memAfter[s]
		w("| %s | %s | %s | %s | %s | %s | %.2f s | %d |", title(s), mib(a.RSS), mib(a.Anon), mib(b.RSS), mib(b.Anon), mib(b.HWM), r.startup[s].Seconds(), r.problemCount[s])
	}
	w("")
	w("The API server (`svcnet up` with its embedded etcd, not a DNS server) held %s after the fill.", mib(r.apiMem.RSS))
	w("")
	for _, s := range r.servers {
		for _, line := range r.problems[s] {
			w("- %s log: `%s`", s, strings.ReplaceAll(line, "`", "'"))
		}
	}
}

func (r *results) roundsTable(w func(string, ...any)) {
	w("## Every round")
	w("")
	head, sep := "| query | server |", "|---|---|"
	for i := range r.cfg.rounds {
		head += fmt.Sprintf(" round %d q/s | p99 |", i+1)
		sep += "---:|---:|"
	}
	w("%s", head)
	w("%s", sep)
	for _, k := range qtypes {
		for _, s := range r.servers {
			row := fmt.Sprintf("| %s | %s |", k.key, s)
			for _, p := range r.passes {
				if p.server == s && p.kind == k.key {
					row += fmt.Sprintf(" %s | %s |", num(p.qps), lat(p.p99))
				}
			}
			w("%s", row)
		}
	}
	w("")
}

func (r *results) fillTable(w func(string, ...any)) {
	t := r.fill.times
	l := r.fill.l
	w("## Fill")
	w("")
	w("| part | objects | wall |")
	w("|---|---:|---:|")
	w("| Pods: create, then status Running and Ready (%d clients) | %s writes | %.1f s |", r.cfg.workers, num(float64(2*l.pods)), t.pods.Seconds())
	w("| Services (%d clients) | %s | %.1f s |", r.cfg.workers, num(float64(l.services)), t.services.Seconds())
	w("| then until the controller's slices list every Pod ready | %s endpoints | %.1f s |", num(float64(l.pods)), t.converge.Seconds())
	w("")
}
