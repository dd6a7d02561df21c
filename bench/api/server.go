package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// server is one `svcnet up` process in its own process group and temp data dir.
type server struct {
	dir  string
	log  *os.File
	cmd  *exec.Cmd
	done chan struct{}
}

// startServer runs `svcnet up` on a free loopback port and returns once it serves
// the `kubernetes` Service (bootstrap done) or fails after 60s.
func startServer(ctx context.Context, binary string) (*server, error) {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("svcnet binary %q: %w", binary, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("svcnet binary (run `make build` first): %w", err)
	}
	// A short directory keeps the etcd socket path under the 108-byte limit.
	dir, err := os.MkdirTemp("", "svb")
	if err != nil {
		return nil, fmt.Errorf("temp data dir: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("server log: %w", err)
	}
	data := filepath.Join(dir, "data")
	// Port 0: the server binds a free port and writes it into the kubeconfig.
	// Compaction is off so that it cannot land inside one timed phase and not the other.
	cmd := exec.Command(abs, "up", "--data-dir", data, "--bind-address", "127.0.0.1", "--secure-port", "0",
		"--etcd-compaction-interval", "0", "--log-level", "warn",
		// No node agent: the benchmark measures the API, and must not program
		// the host's nftables.
		"--agent=false",
		// The API server alone is measured, as kube-apiserver is without
		// kube-controller-manager: the endpoint controllers would add their own
		// writes (an Endpoints object and a slice per Service) to every create.
		"--controllers", "namespace,garbagecollector")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start svcnet: %w", err)
	}
	s := &server{dir: dir, log: logf, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) pid() int           { return s.cmd.Process.Pid }
func (s *server) kubeconfig() string { return filepath.Join(s.dir, "data", "admin.kubeconfig") }
func (s *server) etcdEndpoint() string {
	return "unix://" + filepath.Join(s.dir, "data", "etcd", "client.sock")
}
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
func (s *server) restConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	// A negative QPS turns client-go's rate limiter off.
	cfg.QPS, cfg.Burst = -1, 0
	cfg.UserAgent = "svcnet-bench"
	return cfg, nil
}

func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error = errors.New("no kubeconfig yet")
	for time.Now().Before(deadline) {
		if s.exited() {
			return fmt.Errorf("svcnet exited during start; log:\n%s", s.logTail())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := os.Stat(s.kubeconfig()); err == nil {
			last = s.probe(ctx)
			if last == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("svcnet not ready after %v: %w; log:\n%s", timeout, last, s.logTail())
}

func (s *server) probe(ctx context.Context) error {
	cfg, err := s.restConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if _, err := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("get default/kubernetes: %w", err)
	}
	return nil
}

// stop ends the whole process group (SIGTERM, then SIGKILL after 15s) and removes
// the data dir.
func (s *server) stop() {
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	s.log.Close()
	os.RemoveAll(s.dir)
}

func (s *server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err.Error()
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}
