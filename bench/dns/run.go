package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// results is everything one run measured.
type results struct {
	cfg           config
	started       time.Time
	loadStart     string
	loadEnd       string
	svcnetSkipped string // why svcnet's DNS was not measured, if it was not
	servers       []string
	fill          *filled
	apiMem        procfs.Memory
	startup       map[string]time.Duration
	memReady      map[string]procfs.Memory
	memAfter      map[string]procfs.Memory
	passes        []pass
	problems      map[string][]string
	problemCount  map[string]int
	corednsVer    string
	dnsperfVer    string
	profileTop    string
	heapTop       string
}

func run(ctx context.Context, cfg config) error {
	res := &results{cfg: cfg, started: time.Now(), loadStart: procfs.LoadAverage(),
		startup: map[string]time.Duration{}, memReady: map[string]procfs.Memory{}, memAfter: map[string]procfs.Memory{},
		problems: map[string][]string{}, problemCount: map[string]int{}}
	if err := preflight(cfg); err != nil {
		return err
	}
	res.dnsperfVer = dnsperfVersion(cfg.dnsperf)
	for _, s := range cfg.servers {
		if s == "svcnet" && !svcnetHasDNS(cfg.svcnet) {
			res.svcnetSkipped = "its `svcnet agent` has no `--dns-port` / `--proxy-mode=none` yet"
			logf("svcnet's DNS is not measured: %s", res.svcnetSkipped)
			continue
		}
		res.servers = append(res.servers, s)
	}
	if len(res.servers) == 0 {
		return errors.New("no server left to measure")
	}
	if cfg.coredns != "" {
		// "CoreDNS-1.15.0\nlinux/amd64, go1.26.8, <commit>\n"
		out, _ := exec.Command(cfg.coredns, "-version").Output()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		res.corednsVer = lines[0]
		if len(lines) > 1 {
			res.corednsVer += " (" + strings.Trim(strings.TrimSpace(lines[1]), ",") + ")"
		}
	}

	tmp, err := os.MkdirTemp("", "sdns")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	logf("starting svcnet up")
	// No node lifecycle controller: the bench Nodes have no heartbeat, and their
	// Pods must stay ready for the whole run.
	api, err := upserver.Start(ctx, upserver.Options{Binary: cfg.svcnet, DirPrefix: "sdns",
		Args: []string{"--controllers", "*,-nodelifecycle"}, UserAgent: "svcnet-bench-dns"})
	if err != nil {
		return err
	}
	defer api.Cleanup()
	cs, err := api.Client()
	if err != nil {
		return err
	}
	l := layout{services: cfg.services, pods: cfg.pods, namespaces: cfg.namespaces, nodes: cfg.nodes, headlessEvery: cfg.headlessEvery}
	f, err := fill(ctx, cs, l, cfg.workers, 10*time.Minute)
	if err != nil {
		return err
	}
	res.fill = f
	logf("filled: pods %v, services %v, slices %v", f.times.pods.Round(time.Millisecond),
		f.times.services.Round(time.Millisecond), f.times.converge.Round(time.Millisecond))
	if res.apiMem, err = procfs.ReadMemory(api.Pid()); err != nil {
		return err
	}
	files, err := f.writeQueryFiles(tmp, cfg.queriesPerFile, cfg.seed)
	if err != nil {
		return err
	}

	// Start the servers one after another, so that each lists the API alone.
	servers := map[string]*dnsServer{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	probe := func(addr string) error { return f.probe(addr) }
	for _, name := range res.servers {
		var s *dnsServer
		if name == "svcnet" {
			s, err = startSvcnet(api, tmp, cfg.serverCPU, cfg.profile > 0)
		} else {
			s, err = startCoreDNS(name, cfg.coredns, api, tmp, cfg.serverCPU)
		}
		if err != nil {
			return err
		}
		servers[name] = s
		logf("%s: pid %d, DNS on %s; waiting until ready", name, s.pid(), s.addr)
		if err := s.waitReady(ctx, 5*time.Minute, probe); err != nil {
			return err
		}
		if err := f.checkAnswers(s.addr, 40, cfg.seed); err != nil {
			return fmt.Errorf("%s answers wrongly: %w", name, err)
		}
		res.startup[name] = s.startup
		logf("%s: ready and answering correctly %v after its start", name, s.startup.Round(time.Millisecond))
	}
	// Let start-up garbage be collected before the first memory reading.
	time.Sleep(5 * time.Second)
	for _, name := range res.servers {
		if res.memReady[name], err = servers[name].memory(); err != nil {
			return err
		}
	}

	out := filepath.Join(tmp, "dnsperf.out")
	for round := range cfg.rounds {
		for ki, k := range qtypes {
			// Rotate the servers' order by round and kind, so that none is always first.
			order := rotate(res.servers, round+ki)
			for _, name := range order {
				p, err := runDnsperf(ctx, cfg, servers[name], k.key, files[k.key], out)
				if err != nil {
					return err
				}
				p.round = round
				res.passes = append(res.passes, p)
				logf("round %d %-8s %-13s %8.0f q/s  p50 %-9v p99 %-9v cpu %.2f  dnsperf %.2f  lost %d  %v", round+1, k.key, name,
					p.qps, p.p50, p.p99, p.cpuShare(), p.clientShare(), p.lost, p.rcodes)
				time.Sleep(time.Second)
			}
		}
	}
	for _, name := range res.servers {
		if res.memAfter[name], err = servers[name].memory(); err != nil {
			return err
		}
	}
	if s := servers["svcnet"]; s != nil && s.pprofURL != "" {
		if res.profileTop, err = profileCPU(ctx, cfg, s, files["a"], tmp, api.Binary); err != nil {
			logf("CPU profile: %v", err)
			res.profileTop = "profile failed: " + err.Error()
		}
		if res.heapTop, err = profileHeap(ctx, s, tmp, api.Binary); err != nil {
			logf("heap profile: %v", err)
			res.heapTop = "profile failed: " + err.Error()
		}
	}
	for _, name := range res.servers {
		res.problemCount[name], res.problems[name] = servers[name].logProblems()
	}
	res.loadEnd = procfs.LoadAverage()

	report := res.markdown()
	fmt.Print(report)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
			return err
		}
		logf("wrote %s", cfg.out)
	}
	return nil
}

// probe is the readiness query: the A record of the highest-numbered
// ClusterIP Service, created last or nearly so.
func (f *filled) probe(addr string) error {
	i := f.l.services - 1
	for f.l.headless(i) {
		i--
	}
	rep, err := exchange(addr, f.l.fqdn(i), typeA, time.Second)
	if err != nil {
		return err
	}
	if got := rep.of(typeA); rep.rcode != rcodeSuccess || len(got) != 1 || got[0] != f.clusterIPs[i] {
		return fmt.Errorf("%s: %s %v, want %s", f.l.fqdn(i), rcodeName(rep.rcode), got, f.clusterIPs[i])
	}
	return nil
}

func rotate(s []string, n int) []string {
	n %= len(s)
	return append(append([]string(nil), s[n:]...), s[:n]...)
}

func preflight(cfg config) error {
	if _, err := exec.LookPath(cfg.dnsperf); err != nil {
		return fmt.Errorf("dnsperf not found (apt-get install dnsperf): %w", err)
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("taskset not found (apt-get install util-linux): %w", err)
	}
	if n := runtime.NumCPU(); cfg.serverCPU >= n || cfg.clientCPU >= n || cfg.serverCPU == cfg.clientCPU {
		return fmt.Errorf("--server-cpu %d and --client-cpu %d: want two different CPUs of the %d here", cfg.serverCPU, cfg.clientCPU, n)
	}
	return nil
}

func dnsperfVersion(bin string) string {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version "); ok {
			return v
		}
	}
	return "unknown"
}
