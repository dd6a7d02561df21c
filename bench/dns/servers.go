package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// serverInfo describes one measured server for the report.
var serverInfo = map[string]struct{ title, config string }{
	"svcnet": {"svcnet DNS", "`svcnet agent --proxy-mode=none`, `--dns-pods verified --dns-ttl 30 --dns-rate-limit 0`; answers from memory, no answer cache for cluster names"},
	"coredns": {"CoreDNS kubernetes", "kubeadm's Corefile without the plugins for outside names: `errors`, `ready`, `prometheus`, " +
		"`kubernetes cluster.local in-addr.arpa ip6.arpa { pods verified; ttl 30 }`; no `cache`, no `forward`"},
	"coredns-bare":  {"CoreDNS kubernetes, bare", "`ready` and the same `kubernetes` block only (no `errors`, no `prometheus`)"},
	"coredns-cache": {"CoreDNS kubernetes + cache 30", "as `coredns`, with `cache 30` in front of `kubernetes`"},
}

// dnsServer is one DNS server process pinned to a CPU.
type dnsServer struct {
	name     string
	addr     string // DNS, host:port
	readyURL string
	pprofURL string // svcnet only, with --profiling
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{}
	started  time.Time
	startup  time.Duration // process start to ready and answering
}

func (s *dnsServer) pid() int { return s.cmd.Process.Pid }

func (s *dnsServer) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *dnsServer) stop() { upserver.StopGroup(s.pid(), s.done) }

func (s *dnsServer) memory() (procfs.Memory, error) { return procfs.ReadMemory(s.pid()) }

// freePorts finds n distinct loopback ports, each free for both TCP and UDP.
func freePorts(n int) ([]int, error) {
	var out []int
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// freePort finds a loopback port that is free for both TCP and UDP.
func freePort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port for TCP and UDP")
}

// startPinned runs binary args... under `taskset -c cpu` (taskset execs it, so
// the pid is the server's), in its own process group, logging to logPath.
func startPinned(name string, cpu int, logPath, binary string, args ...string) (*dnsServer, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), binary}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &dnsServer{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	return s, nil
}

// svcnetHasDNS reports whether the binary's agent has the DNS flags.
func svcnetHasDNS(binary string) bool {
	out, _ := exec.Command(binary, "agent", "--help").CombinedOutput()
	return strings.Contains(string(out), "--dns-port") && strings.Contains(string(out), "none")
}

// startSvcnet runs svcnet's agent with no data plane, serving DNS only.
func startSvcnet(api *upserver.Server, dir string, cpu int, profiling bool) (*dnsServer, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	dnsPort, healthz, metrics := ports[0], ports[1], ports[2]
	args := []string{"agent", "--proxy-mode=none", "--kubeconfig", api.Kubeconfig(),
		"--node-name", "bench-dns", "--node-ip", "127.0.0.1",
		"--dns-bind-address", "127.0.0.1", "--dns-port", strconv.Itoa(dnsPort),
		"--cluster-domain", "cluster.local", "--dns-ttl", "30", "--dns-pods", "verified", "--dns-rate-limit", "0",
		"--healthz-bind-address", fmt.Sprintf("127.0.0.1:%d", healthz),
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics)}
	if profiling {
		args = append(args, "--profiling")
	}
	s, err := startPinned("svcnet", cpu, filepath.Join(dir, "svcnet-agent.log"), api.Binary, args...)
	if err != nil {
		return nil, err
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", dnsPort)
	s.readyURL = fmt.Sprintf("http://127.0.0.1:%d/readyz", healthz)
	if profiling {
		s.pprofURL = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", metrics)
	}
	return s, nil
}

// corefile is the Corefile of CoreDNS variant name.
func corefile(name string, dnsPort, readyPort, metricsPort int, kubeconfig string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n\tbind 127.0.0.1\n", dnsPort)
	if name != "coredns-bare" {
		fmt.Fprintf(&b, "\terrors\n\tprometheus 127.0.0.1:%d\n", metricsPort)
	}
	fmt.Fprintf(&b, "\tready 127.0.0.1:%d\n", readyPort)
	fmt.Fprintf(&b, "\tkubernetes cluster.local in-addr.arpa ip6.arpa {\n\t\tkubeconfig %s\n\t\tpods verified\n\t\tttl 30\n\t}\n", kubeconfig)
	if name == "coredns-cache" {
		b.WriteString("\tcache 30\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// startCoreDNS runs CoreDNS variant name with its Corefile in dir.
func startCoreDNS(name, binary string, api *upserver.Server, dir string, cpu int) (*dnsServer, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, name+".Corefile")
	if err := os.WriteFile(conf, []byte(corefile(name, ports[0], ports[1], ports[2], api.Kubeconfig())), 0o644); err != nil {
		return nil, err
	}
	s, err := startPinned(name, cpu, filepath.Join(dir, name+".log"), binary, "-conf", conf)
	if err != nil {
		return nil, err
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	s.readyURL = fmt.Sprintf("http://127.0.0.1:%d/ready", ports[1])
	return s, nil
}

// waitReady waits for the server's readiness endpoint to answer 200 and then
// for probe (a query whose answer shows the fill is there) to succeed.
func (s *dnsServer) waitReady(ctx context.Context, timeout time.Duration, probe func(addr string) error) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error = errors.New("not ready yet")
	for time.Now().Before(deadline) {
		if s.exited() {
			return fmt.Errorf("%s exited during start; log:\n%s", s.name, upserver.Tail(s.logPath))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		last = httpOK(ctx, client, s.readyURL)
		if last == nil {
			if last = probe(s.addr); last == nil {
				s.startup = time.Since(s.started)
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v: %w; log:\n%s", s.name, timeout, last, upserver.Tail(s.logPath))
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// logProblems counts the lines of the server's log that report errors.
func (s *dnsServer) logProblems() (int, []string) {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return 0, nil
	}
	n := 0
	var first []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "[ERROR]") {
			n++
			if len(first) < 3 {
				first = append(first, line)
			}
		}
	}
	return n, first
}
