package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svcnet/svcnet/bench/internal/procfs"
)

// pass is one dnsperf run of one query kind against one server.
type pass struct {
	server, kind string
	round        int
	qps          float64 // dnsperf's "Queries per second"
	sent         int
	completed    int
	lost         int
	rcodes       map[string]int // from the per-query lines
	p50, p99     time.Duration  // over the completed queries
	cpu          time.Duration  // the server's CPU time during the pass
	clientCPU    time.Duration  // dnsperf's own CPU time
	wall         time.Duration
}

// cpuShare is the server's CPU time per second of the pass.
func (p pass) cpuShare() float64 {
	if p.wall <= 0 {
		return 0
	}
	return p.cpu.Seconds() / p.wall.Seconds()
}

// clientShare is dnsperf's CPU time per second of the pass: near 1.00, the
// client's one CPU was the limit, not the server.
func (p pass) clientShare() float64 {
	if p.wall <= 0 {
		return 0
	}
	return p.clientCPU.Seconds() / p.wall.Seconds()
}

// perCPUSecond is queries completed per second of the server's CPU time.
func (p pass) perCPUSecond() float64 {
	if p.cpu <= 0 {
		return 0
	}
	return float64(p.completed) / p.cpu.Seconds()
}

var (
	reSent      = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	reCompleted = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	reLost      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	reQPS       = regexp.MustCompile(`Queries per second:\s+([\d.]+)`)
)

// runDnsperf runs dnsperf pinned to cfg.clientCPU against s with the query file,
// with -v so that every response's latency is printed, and reads the results.
func runDnsperf(ctx context.Context, cfg config, s *dnsServer, kind, file, outPath string) (pass, error) {
	host, port, _ := strings.Cut(s.addr, ":")
	secs := strconv.Itoa(int(cfg.duration.Round(time.Second).Seconds()))
	args := []string{"-c", strconv.Itoa(cfg.clientCPU), cfg.dnsperf, "-s", host, "-p", port, "-d", file,
		"-c", strconv.Itoa(cfg.clients), "-q", strconv.Itoa(cfg.outstanding), "-l", secs, "-v"}
	out, err := os.Create(outPath)
	if err != nil {
		return pass{}, err
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "taskset", args...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	cpu0, err := procfs.ReadCPU(s.pid())
	if err != nil {
		return pass{}, err
	}
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	cpu1, err := procfs.ReadCPU(s.pid())
	if err != nil {
		return pass{}, fmt.Errorf("%s: %w (did it exit? log:\n%s)", s.name, err, tailOf(s))
	}
	if runErr != nil {
		return pass{}, fmt.Errorf("dnsperf against %s: %w: %s", s.name, runErr, strings.TrimSpace(stderr.String()))
	}
	p, err := parseDnsperf(outPath)
	if err != nil {
		return pass{}, fmt.Errorf("dnsperf against %s: %w", s.name, err)
	}
	p.server, p.kind, p.cpu, p.wall = s.name, kind, cpu1-cpu0, wall
	// taskset execs dnsperf: the process's CPU time is dnsperf's.
	p.clientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return p, nil
}

func tailOf(s *dnsServer) string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// parseDnsperf reads dnsperf -v output: one "> RCODE name type seconds" line
// per response ("> T name type" per timeout), then the statistics.
func parseDnsperf(path string) (pass, error) {
	f, err := os.Open(path)
	if err != nil {
		return pass{}, err
	}
	defer f.Close()
	p := pass{rcodes: map[string]int{}}
	var lat []time.Duration
	var tail strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "> "); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				continue
			}
			rc := fields[0]
			if rc == "T" || rc == "I" {
				continue
			}
			p.rcodes[rc]++
			if sec, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
				lat = append(lat, time.Duration(sec*float64(time.Second)))
			}
			continue
		}
		tail.WriteString(line)
		tail.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return pass{}, err
	}
	stats := tail.String()
	for _, m := range []struct {
		re  *regexp.Regexp
		dst *int
	}{{reSent, &p.sent}, {reCompleted, &p.completed}, {reLost, &p.lost}} {
		v := m.re.FindStringSubmatch(stats)
		if v == nil {
			return pass{}, fmt.Errorf("no %q in its output:\n%s", m.re.String(), stats)
		}
		*m.dst, _ = strconv.Atoi(v[1])
	}
	v := reQPS.FindStringSubmatch(stats)
	if v == nil {
		return pass{}, fmt.Errorf("no queries per second in its output:\n%s", stats)
	}
	p.qps, _ = strconv.ParseFloat(v[1], 64)
	if len(lat) == 0 {
		return pass{}, fmt.Errorf("no responses; output:\n%s", stats)
	}
	slices.Sort(lat)
	p.p50, p.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return p, nil
}

// percentile of sorted d (nearest rank).
func percentile(d []time.Duration, q float64) time.Duration {
	i := int(float64(len(d))*q+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}
