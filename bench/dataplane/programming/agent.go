package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// syncEvent is one "data plane synced" line of the agent's log.
type syncEvent struct {
	at           time.Time // when this program read the line
	full         bool
	servicePorts int
	took         time.Duration
}

// agent is one `svcnet agent` process inside the node namespace.
type agent struct {
	node    *ns
	cmd     interface{ Wait() error }
	pid     int
	started time.Time
	done    chan struct{}
	logPath string

	mu       sync.Mutex
	syncs    []syncEvent
	errors   []string
	failures []string // "data plane sync failed" lines
	notify   chan struct{}
}

var syncLine = regexp.MustCompile(`msg="data plane synced" kind=(\w+) servicePorts=(\d+) took=(\S+)`)

// startAgent runs the agent in the node namespace with a log file in dir.
// `ip netns exec` execs the agent, so the pid is the agent's own.
func startAgent(node *ns, binary, dir, token, caFile string, n int) (*agent, error) {
	logPath := filepath.Join(dir, fmt.Sprintf("agent-%d.log", n))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := node.command(binary, "agent", "--server", "https://"+relayAddr, "--token", token,
		"--certificate-authority", caFile, "--node-name", nodeName, "--node-ip", nodeIP,
		"--pod-cidr", podCIDR, "--cluster-cidr", cluster, "--nftables-table", nftTable,
		"--healthz-bind-address", "127.0.0.1:10256", "--metrics-bind-address", "127.0.0.1:10249",
		// The data plane alone: cluster DNS (bench/dns) would add its own
		// caches to the agent's memory and its own work to every change.
		"--dns=false",
		"--log-level", "debug")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	a := &agent{node: node, cmd: cmd, done: make(chan struct{}), logPath: logPath, notify: make(chan struct{}, 1)}
	a.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); pw.Close(); close(a.done) }()
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			now := time.Now()
			fmt.Fprintln(logf, line)
			a.parse(now, line)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return a, nil
}

func (a *agent) parse(now time.Time, line string) {
	if m := syncLine.FindStringSubmatch(line); m != nil {
		ports, _ := strconv.Atoi(m[2])
		took, err := time.ParseDuration(m[3])
		if err != nil {
			return
		}
		a.mu.Lock()
		a.syncs = append(a.syncs, syncEvent{at: now, full: m[1] == "full", servicePorts: ports, took: took})
		a.mu.Unlock()
		select {
		case a.notify <- struct{}{}:
		default:
		}
		return
	}
	if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
		a.mu.Lock()
		if strings.Contains(line, `msg="data plane sync failed`) {
			a.failures = append(a.failures, line)
		} else if len(a.errors) < 20 {
			a.errors = append(a.errors, line)
		}
		a.mu.Unlock()
	}
}

// events returns a copy of the sync events so far.
func (a *agent) events() []syncEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]syncEvent(nil), a.syncs...)
}

func (a *agent) problems() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.errors...)
}

// errSyncFailing is returned when the agent's syncs keep failing.
type errSyncFailing struct{ line string }

func (e errSyncFailing) Error() string { return "the agent's data plane syncs fail: " + e.line }

// failedSyncs is how many failed syncs in a row, with no success, make
// waitFullSync give up (the agent retries after 0.1, 0.2, 0.4 s...).
const failedSyncs = 4

// waitFullSync waits for the first full sync that programs at least ports
// service ports.
func (a *agent) waitFullSync(ctx context.Context, ports int, timeout time.Duration) (syncEvent, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, e := range a.events() {
			if e.full && e.servicePorts >= ports {
				return e, nil
			}
		}
		a.mu.Lock()
		failed := append([]string(nil), a.failures...)
		a.mu.Unlock()
		if len(failed) >= failedSyncs {
			return syncEvent{}, errSyncFailing{line: failed[0]}
		}
		select {
		case <-ctx.Done():
			return syncEvent{}, context.Cause(ctx)
		case <-a.done:
			return syncEvent{}, fmt.Errorf("agent exited before its first full sync; log:\n%s", upserver.Tail(a.logPath))
		case <-deadline.C:
			return syncEvent{}, fmt.Errorf("no full sync of %d service ports within %v; log:\n%s", ports, timeout, upserver.Tail(a.logPath))
		case <-a.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (a *agent) stop() { upserver.StopGroup(a.pid, a.done) }

// memory reads VmRSS and VmHWM of the agent.
func (a *agent) memory() (procfs.Memory, error) { return procfs.ReadMemory(a.pid) }

// metrics fetches the agent's /metrics from inside the node namespace.
func (a *agent) metrics(ctx context.Context) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return a.node.dial(ctx, addr) },
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:10249/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// metricValue finds the value of one sample line (name with its labels, as
// printed) in a Prometheus text exposition.
func metricValue(text, sample string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}
