// Command dns benchmarks svcnet's cluster DNS next to CoreDNS's kubernetes
// plugin, in one run, on the same API server and the same data.
//
// It starts `svcnet up` from a built binary on a free loopback port and fills it
// with Services (ClusterIP ones with two named ports, and every tenth one
// headless) spread over namespaces, and with Pods bound to Nodes it creates,
// their status (Running, Ready, a pod IP) written through pods/status as a
// kubelet would; svcnet's controllers write the EndpointSlices. Then it starts
// the DNS servers, each pinned to one CPU with taskset: `svcnet agent
// --proxy-mode=none` serving DNS, and CoreDNS (a build of the benchmark-only
// module in bench/dns/coredns) in up to three Corefiles, all reading the same
// API server with the admin kubeconfig. Once each is ready and answers the
// last-created Service, it checks a sample of every query type against what was
// filled, and then runs dnsperf (pinned to another CPU, loopback only) against
// each server in turn, one query type per pass, with the servers' order rotated
// from round to round: queries/s and p50/p99 latency (from dnsperf's per-query
// output) for A, SRV, headless A, NXDOMAIN and PTR, each server's CPU time during
// the pass and its memory after the fill and after the runs. It prints a
// markdown report of svcnet / CoreDNS ratios against the targets and
// writes it, with the machine facts, to a results file.
//
// If the svcnet binary's agent has no DNS flags yet (`--dns-port`), it measures
// CoreDNS alone and says so. It builds nothing (it takes built binaries), sends
// nothing off loopback (the pod and endpoint addresses are data only), and is not
// a test: CI does not run it. Everything it starts is stopped at the end, also on
// error or SIGINT, and its temp dirs are removed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is the typed form of the flags.
type config struct {
	svcnet, coredns, dnsperf string
	servers                  []string
	services, pods           int
	namespaces, nodes        int
	headlessEvery            int
	workers                  int
	rounds                   int
	duration                 time.Duration
	clients, outstanding     int
	serverCPU, clientCPU     int
	queriesPerFile           int
	seed                     uint64
	source, corednsSource    string
	out                      string
	profile                  time.Duration
}

// allServers are the servers a run can measure, in report order.
var allServers = []string{"svcnet", "coredns", "coredns-bare", "coredns-cache"}

func main() {
	cfg := config{}
	var servers string
	flag.StringVar(&cfg.svcnet, "svcnet", "./bin/svcnet", "svcnet binary: runs the API server and, as `svcnet agent`, svcnet's DNS")
	flag.StringVar(&cfg.coredns, "coredns", "", "CoreDNS binary built from bench/dns/coredns (run.sh builds it)")
	flag.StringVar(&cfg.dnsperf, "dnsperf", "dnsperf", "dnsperf binary (Debian package dnsperf)")
	flag.StringVar(&servers, "servers", strings.Join(allServers, ","), "servers to measure, of "+strings.Join(allServers, ","))
	flag.IntVar(&cfg.services, "services", 10000, "Services to create")
	flag.IntVar(&cfg.pods, "pods", 50000, "Pods to create, spread evenly over the Services (each Service selects its own)")
	flag.IntVar(&cfg.namespaces, "namespaces", 100, "namespaces the Services and Pods are spread over")
	flag.IntVar(&cfg.nodes, "nodes", 10, "Nodes the Pods are bound to")
	flag.IntVar(&cfg.headlessEvery, "headless-every", 10, "every Nth Service is headless")
	flag.IntVar(&cfg.workers, "workers", 32, "parallel API clients of the fill")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of passes; each figure is the median over the rounds")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of one dnsperf pass")
	flag.IntVar(&cfg.clients, "clients", 50, "dnsperf -c: client sockets")
	flag.IntVar(&cfg.outstanding, "outstanding", 100, "dnsperf -q: queries outstanding at most")
	flag.IntVar(&cfg.serverCPU, "server-cpu", 1, "CPU every DNS server is pinned to")
	flag.IntVar(&cfg.clientCPU, "client-cpu", 0, "CPU dnsperf is pinned to")
	flag.IntVar(&cfg.queriesPerFile, "queries", 100000, "lines in each query file (dnsperf loops over it)")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the query files")
	flag.DurationVar(&cfg.profile, "profile", 0, "if > 0, after the runs take a CPU profile of svcnet's DNS under A load for this long (needs --profiling on the agent)")
	flag.StringVar(&cfg.source, "source", "", "what the svcnet binary was built from, for the report (default: this checkout's commit)")
	flag.StringVar(&cfg.corednsSource, "coredns-source", "", "what the CoreDNS binary was built from, for the report")
	flag.StringVar(&cfg.out, "out", "", "file to write the markdown report to; empty writes none")
	flag.Parse()
	var err error
	if cfg.servers, err = parseServers(servers); err == nil {
		err = cfg.validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/dns: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench/dns: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func parseServers(s string) ([]string, error) {
	var out []string
	for _, name := range allServers {
		for _, f := range strings.Split(s, ",") {
			if strings.TrimSpace(f) == name {
				out = append(out, name)
				break
			}
		}
	}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !contains(allServers, f) {
			return nil, fmt.Errorf("--servers: unknown server %q", f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--servers %q: none to measure", s)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c config) validate() error {
	usesCoreDNS := false
	for _, s := range c.servers {
		usesCoreDNS = usesCoreDNS || strings.HasPrefix(s, "coredns")
	}
	switch {
	case usesCoreDNS && c.coredns == "":
		return fmt.Errorf("--coredns: a CoreDNS binary is needed (go build -C bench/dns/coredns -o /tmp/coredns .)")
	case c.services < 10 || c.services > 100000:
		return fmt.Errorf("--services %d: want 10..100000", c.services)
	case c.pods < c.services || c.pods > 1<<20:
		return fmt.Errorf("--pods %d: want --services..%d", c.pods, 1<<20)
	case c.namespaces < 1 || c.namespaces > c.services:
		return fmt.Errorf("--namespaces %d: want 1..--services", c.namespaces)
	case c.nodes < 1 || c.nodes > 1000:
		return fmt.Errorf("--nodes %d: want 1..1000", c.nodes)
	case c.headlessEvery < 2:
		return fmt.Errorf("--headless-every %d: want >= 2", c.headlessEvery)
	case c.workers < 1 || c.workers > 256:
		return fmt.Errorf("--workers %d: want 1..256", c.workers)
	case c.rounds < 1 || c.rounds > 20:
		return fmt.Errorf("--rounds %d: want 1..20", c.rounds)
	case c.duration < time.Second || c.duration > 10*time.Minute:
		return fmt.Errorf("--duration %v: want 1s..10m", c.duration)
	case c.clients < 1 || c.outstanding < 1:
		return fmt.Errorf("--clients and --outstanding must be >= 1")
	case c.queriesPerFile < 100:
		return fmt.Errorf("--queries %d: want >= 100", c.queriesPerFile)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench/dns: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
