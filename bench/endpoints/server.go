package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// server is `svcnet up` on a temp data dir that outlives one process, so that the
// server can be stopped and started again on the same data.
type server struct {
	binary string
	dir    string // holds data/ and the server logs
	runs   int
	log    *os.File
	cmd    *exec.Cmd
	done   chan struct{}
	// started is when the current process was started.
	started time.Time
}

// newServer makes the data dir; nothing runs yet.
func newServer(binary string) (*server, error) {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("svcnet binary %q: %w", binary, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("svcnet binary (run `make build` first): %w", err)
	}
	// A short directory keeps the etcd socket path under the 108-byte limit.
	dir, err := os.MkdirTemp("", "sve")
	if err != nil {
		return nil, fmt.Errorf("temp data dir: %w", err)
	}
	// Both starts run this copy: a rebuild of the binary during the run cannot put
	// another svcnet behind the restart.
	own := filepath.Join(dir, "svcnet")
	if err := copyFile(abs, own); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &server{binary: own, dir: dir}, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy svcnet binary: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return fmt.Errorf("copy svcnet binary: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy svcnet binary: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy svcnet binary: %w", err)
	}
	return nil
}

func (s *server) data() string       { return filepath.Join(s.dir, "data") }
func (s *server) kubeconfig() string { return filepath.Join(s.data(), "admin.kubeconfig") }
func (s *server) etcdEndpoint() string {
	return "unix://" + filepath.Join(s.data(), "etcd", "client.sock")
}
func (s *server) pid() int { return s.cmd.Process.Pid }

// running reports whether a process was started and has not exited.
func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// start runs `svcnet up` in its own process group and returns at once; ready waits
// for it. The admin kubeconfig of an earlier run is removed first: the server writes
// it afresh with the port it binds, and an old one would point at a dead port.
func (s *server) start() error {
	if s.running() {
		return errors.New("svcnet already running")
	}
	if err := os.Remove(s.kubeconfig()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old kubeconfig: %w", err)
	}
	s.runs++
	logf, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("server-%d.log", s.runs)))
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	// Port 0: the server binds a free port and writes it into the kubeconfig.
	// Compaction is off so that the restart check can watch from before the stop.
	cmd := exec.Command(s.binary, "up", "--data-dir", s.data(), "--bind-address", "127.0.0.1", "--secure-port", "0",
		"--etcd-compaction-interval", "0", "--log-level", "warn",
		// No node agent: the benchmark measures the controllers, and must not
		// program the host's nftables.
		"--agent=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start svcnet: %w", err)
	}
	s.log, s.cmd, s.done = logf, cmd, make(chan struct{})
	done := s.done
	go func() { _ = cmd.Wait(); close(done) }()
	return nil
}

// ready polls until the `kubernetes` Service can be read with the admin
// credential, and returns when that first succeeded.
func (s *server) ready(ctx context.Context, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	var last error = errors.New("no kubeconfig yet")
	for time.Now().Before(deadline) {
		if !s.running() {
			return time.Time{}, fmt.Errorf("svcnet exited during start; log:\n%s", s.logTail())
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		if _, err := os.Stat(s.kubeconfig()); err == nil {
			if last = s.probe(ctx); last == nil {
				return time.Now(), nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("svcnet not ready after %v: %w; log:\n%s", timeout, last, s.logTail())
}

func (s *server) probe(ctx context.Context) error {
	cfg, err := s.restConfig()
	if err != nil {
		return err
	}
	return upserver.Probe(ctx, cfg)
}

// restConfig is the admin kubeconfig with protobuf and no client-side rate limit.
func (s *server) restConfig() (*rest.Config, error) {
	return upserver.AdminConfig(s.kubeconfig(), "svcnet-bench-endpoints")
}

// stop ends the process group: SIGTERM, then SIGKILL after 30s. It returns how long
// the server took to exit and whether it had to be killed.
func (s *server) stop() (time.Duration, bool) {
	if !s.running() {
		return 0, false
	}
	t := time.Now()
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	killed := false
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		killed = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	s.log.Close()
	return time.Since(t), killed
}

// cleanup stops the server if it runs and removes the data dir.
func (s *server) cleanup() {
	s.stop()
	os.RemoveAll(s.dir)
}

// logTail is the end of the current run's log.
func (s *server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, fmt.Sprintf("server-%d.log", s.runs)))
	if err != nil {
		return err.Error()
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}
