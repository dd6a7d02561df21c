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

// row is one line of the summary table.
type row struct {
	op, svcnet, floor, ratio, target, result string
}

// verdict turns a check into the result column.
func verdict(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

// summary builds the summary table: svcnet, the etcd floor measured in the same run,
// their ratio and the target.
func summary(r results) []row {
	n, c := r.cfg.services, r.cfg.clients
	const listTarget = 300 * time.Millisecond
	const watchTarget = 50 * time.Millisecond
	parRatio := ratio(r.par.rate(), r.floorPar.rate())
	jsonList, tableList, etcdList := median(r.lists.json), median(r.lists.table), median(r.lists.etcd)
	p50, p99 := percentile(r.watch.lat, 50), percentile(r.watch.lat, 99)
	f50, f99 := percentile(r.floorWatch.lat, 50), percentile(r.floorWatch.lat, 99)
	watchOK := r.watch.missing == 0 && p99 < watchTarget
	rows := []row{
		{op: fmt.Sprintf("create %s Services, 1 client (per s)", thousands(n)),
			svcnet: fmt.Sprintf("%.0f", r.serial.rate()), floor: fmt.Sprintf("%.0f puts", r.floorSerial.rate()),
			ratio: fmtRatio(ratio(r.serial.rate(), r.floorSerial.rate())), target: "—", result: "—"},
		{op: fmt.Sprintf("create %s Services, %d clients (per s)", thousands(n), c),
			svcnet: fmt.Sprintf("%.0f", r.par.rate()), floor: fmt.Sprintf("%.0f puts", r.floorPar.rate()),
			ratio: fmtRatio(parRatio), target: "≥ 0.50x", result: verdict(parRatio >= 0.5)},
		{op: fmt.Sprintf("create %s Services, %d clients, against the HTTPS relay floor (per s)", thousands(n), c),
			svcnet: fmt.Sprintf("%.0f", r.par.rate()), floor: fmt.Sprintf("%.0f relayed", r.relay.rate()),
			ratio: fmtRatio(ratio(r.par.rate(), r.relay.rate())), target: "—", result: "—"},
		{op: fmt.Sprintf("list %s Services, JSON (median of %d)", thousands(n), len(r.lists.json)),
			svcnet: fmtDur(jsonList), floor: fmtDur(etcdList) + " range",
			ratio: fmtRatio(ratio(jsonList.Seconds(), etcdList.Seconds())), target: "< 300 ms", result: verdict(jsonList < listTarget)},
		{op: fmt.Sprintf("list %s Services, Table (median of %d)", thousands(n), len(r.lists.table)),
			svcnet: fmtDur(tableList), floor: fmtDur(etcdList) + " range",
			ratio: fmtRatio(ratio(tableList.Seconds(), etcdList.Seconds())), target: "< 300 ms", result: verdict(tableList < listTarget)},
		{op: fmt.Sprintf("watch delivery p50, %d watchers", r.cfg.watchers),
			svcnet: fmtDur(p50), floor: fmtDur(f50),
			ratio: fmtRatio(ratio(p50.Seconds(), f50.Seconds())), target: "—", result: "—"},
		{op: fmt.Sprintf("watch delivery p99, %d watchers", r.cfg.watchers),
			svcnet: fmtDur(p99), floor: fmtDur(f99),
			ratio: fmtRatio(ratio(p99.Seconds(), f99.Seconds())), target: "< 50 ms", result: verdict(watchOK)},
		{op: fmt.Sprintf("server RSS at %s Services", thousands(n)),
			svcnet: fmtBytes(r.atN.RSS), floor: "(in process)", ratio: "—", target: "—", result: "—"},
		{op: "server peak RSS (VmHWM), end of run",
			svcnet: fmtBytes(r.end.HWM), floor: "(in process)", ratio: "—", target: "—", result: "—"},
	}
	if r.watch.missing > 0 {
		rows[6].svcnet += fmt.Sprintf(" (%d missed)", r.watch.missing)
	}
	if r.floorWatch.missing > 0 {
		rows[6].floor += fmt.Sprintf(" (%d missed)", r.floorWatch.missing)
	}
	return rows
}

// render writes the whole results document.
func render(r results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# svcnet API benchmark results\n\n")
	w("- Date: %s\n", r.started.Format("2006-01-02 15:04 UTC"))
	w("- Machine: %d CPUs (%s), Linux %s\n", runtime.NumCPU(), procfs.CPUModel(), procfs.Kernel())
	w("- Go: %s (benchmark); svcnet %s, source tree %s\n", runtime.Version(), r.svcnetVer, sourceTree())
	w("- Command: `%s`\n", commandLine())
	w("- Load average (1, 5, 15 min): %s at start, %s at end, on %d CPUs; above the CPU count, other work shared the machine: rates are lower and noisier, so compare ratios and CPU per op within this run\n",
		r.loadStart, r.loadEnd, runtime.NumCPU())
	w("- Settings: %d Services per create phase, %d parallel clients, %d watchers x %d writes every %v, %d timed list rounds, client-go wire format %s; stored Service value %d bytes\n\n",
		r.cfg.services, r.cfg.clients, r.cfg.watchers, r.cfg.watchEvents, r.cfg.watchInterval, r.cfg.listReps, wire(r.cfg), r.valueSize)

	w("| operation | svcnet | etcd floor | ratio | target | result |\n|---|---:|---:|---:|---|---|\n")
	for _, x := range summary(r) {
		w("| %s | %s | %s | %s | %s | %s |\n", x.op, x.svcnet, x.floor, x.ratio, x.target, x.result)
	}
	w("\nRatio is svcnet / etcd floor from this one run: for rates higher is better, for times lower is better.\n")
	w("The floor runs against the same embedded etcd, through its unix socket, in the same run.\n")
	w("The HTTPS relay floor is the least an API server that writes each create in its own etcd transaction, as kube-apiserver does, can do per create with the same client: TLS, HTTP/2 and that one transaction, nothing decoded or checked (see Creates).\n\n")

	w("## Creates\n\n| phase | per s | mean | p50 | p99 | server handler mean | server CPU per op | bench CPU per op | machine CPU busy | wall |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range []phase{r.serial, r.floorSerial, r.par, r.floorPar, r.txn, r.relay} {
		handler := "—"
		if p.handler > 0 {
			handler = fmtDur(p.handler)
		}
		w("| %s | %.0f | %s | %s | %s | %s | %s | %s | %.0f%% | %s |\n", p.name, p.rate(), fmtDur(p.mean()), fmtDur(percentile(p.lat, 50)), fmtDur(percentile(p.lat, 99)),
			handler, fmtDur(p.perOp(p.cpu.server)), fmtDur(p.perOp(p.cpu.bench)), 100*p.cpu.busy(), fmtDur(p.wall))
	}
	w("\nThe server process holds the embedded etcd, so its CPU in the etcd rows is etcd's own cost per write.\n")
	w("Server handler mean is svcnet's own request-duration metric (after authentication, before HTTP/2 and TLS); machine CPU busy counts all processes and stolen time.\n")
	w("svcnet creates at %d clients ran at %s of the etcd transaction shaped like its own (object and allocation key, both checked absent).\n",
		r.cfg.clients, fmtRatio(ratio(r.par.rate(), r.txn.rate())))
	w("The HTTPS relay is a separate process (its CPU is the server CPU of its row) with its own embedded etcd, started the way svcnet starts one and written through the same in-process client: ")
	w("client-go, configured as for svcnet, sends each Service over TLS and HTTP/2 with svcnet's TLS settings; the relay reads the body, runs that same transaction (storing the %d-byte floor value) and returns the body as the created object. ", r.valueSize)
	w("It decodes, validates, allocates and records nothing. It ran at %s of the etcd puts: the most a server writing each create in its own transaction could reach here with this client. ", fmtRatio(ratio(r.relay.rate(), r.floorPar.rate())))
	w("svcnet ran at %s of the relay.\n\n", fmtRatio(ratio(r.par.rate(), r.relay.rate())))

	w("## Lists (%d Services)\n\n| list | median | min | max | response |\n|---|---:|---:|---:|---:|\n", r.cfg.services)
	for _, l := range []struct {
		name string
		ds   []time.Duration
		size string
	}{
		{"svcnet JSON", r.lists.json, fmtBytes(int64(r.lists.jsonBytes))},
		{"svcnet Table", r.lists.table, fmtBytes(int64(r.lists.tableBytes))},
		{"etcd range (same keys)", r.lists.etcd, "—"},
	} {
		w("| %s | %s | %s | %s | %s |\n", l.name, fmtDur(median(l.ds)), fmtDur(minDur(l.ds)), fmtDur(maxDur(l.ds)), l.size)
	}
	w("\nsvcnet times run from the request to the last byte of the body (not decoded).\n\n")

	w("## Watch delivery\n\n| side | pairs | missed | p50 | p90 | p99 | max | write p50 | server CPU | bench CPU | machine CPU busy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range []struct {
		name string
		res  watchResult
	}{{"svcnet", r.watch}, {"etcd", r.floorWatch}} {
		l := x.res.lat
		w("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.0f%% |\n", x.name, len(l), x.res.missing,
			fmtDur(percentile(l, 50)), fmtDur(percentile(l, 90)), fmtDur(percentile(l, 99)), fmtDur(percentile(l, 100)),
			fmtDur(percentile(x.res.writeLat, 50)), fmtDur(x.res.cpu.server), fmtDur(x.res.cpu.bench), 100*x.res.cpu.busy())
	}
	w("\nLatency runs from the start of the write call to the watcher receiving the event, over all (watcher, event) pairs.\n")
	w("Each watcher has its own connection; svcnet writes are Service creates, etcd writes are puts of the same value.\n\n")

	w("## Memory (server process, etcd included)\n\n| when | VmRSS | VmHWM |\n|---|---:|---:|\n")
	w("| idle after start | %s | %s |\n", fmtBytes(r.idle.RSS), fmtBytes(r.idle.HWM))
	w("| %s bench Services stored | %s | %s |\n", thousands(r.cfg.services), fmtBytes(r.atN.RSS), fmtBytes(r.atN.HWM))
	w("| end of run (%s bench Services and about %s floor keys stored) | %s | %s |\n",
		thousands(2*r.cfg.services+r.cfg.watchEvents+warmupWrites+1), thousands(4*r.cfg.services+r.cfg.watchEvents+warmupWrites+1), fmtBytes(r.end.RSS), fmtBytes(r.end.HWM))
	return b.String()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fmtRatio(x float64) string { return fmt.Sprintf("%.2fx", x) }

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
	if n < 1<<20 {
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func minDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Min(ds)
}

func maxDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

func wire(c config) string {
	if c.protobuf {
		return "protobuf"
	}
	return "JSON (client-go default)"
}

// commandLine is how this run was started; a `go run` binary shows as `go run`.
func commandLine() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./bench/api"
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

// sourceTree names the commit of the working directory's repository, if any.
func sourceTree() string {
	out, err := execOutput("git", "describe", "--always", "--dirty")
	if err != nil {
		return "unknown"
	}
	return out
}
