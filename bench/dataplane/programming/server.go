package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
	binary string
	dir    string
	log    *os.File
	cmd    *exec.Cmd
	done   chan struct{}
}

// startServer runs `svcnet up` on a free loopback port and returns once it
// serves the `kubernetes` Service.
func startServer(ctx context.Context, c *cleanups, binary string) (*server, error) {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("svcnet binary %q: %w", binary, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("svcnet binary (run `make build` first): %w", err)
	}
	// A short directory keeps the etcd socket path under the 108-byte limit.
	dir, err := os.MkdirTemp("", "sdp")
	if err != nil {
		return nil, fmt.Errorf("temp data dir: %w", err)
	}
	c.add(func() { os.RemoveAll(dir) })
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	c.add(func() { logf.Close() })
	// Only the controllers that do not write endpoints: the Services here have
	// no selector and their slices are written by this program, as a
	// controller elsewhere would write them.
	// --agent=false: the host must not become a node; the measured agent runs
	// inside the node namespace.
	cmd := exec.Command(abs, "up", "--agent=false", "--data-dir", filepath.Join(dir, "data"), "--bind-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-compaction-interval", "0", "--log-level", "warn",
		"--controllers", "namespace,garbagecollector")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start svcnet: %w", err)
	}
	s := &server{binary: abs, dir: dir, log: logf, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	c.add(s.stop)
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) dataDir() string    { return filepath.Join(s.dir, "data") }
func (s *server) kubeconfig() string { return filepath.Join(s.dataDir(), "admin.kubeconfig") }

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// restConfig is the admin's, without client-side rate limit, speaking protobuf.
func (s *server) restConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.UserAgent = "svcnet-bench-dataplane"
	return cfg, nil
}

func (s *server) client() (*kubernetes.Clientset, error) {
	cfg, err := s.restConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// apiAddr is the host:port the server listens on (from its kubeconfig).
func (s *server) apiAddr() (string, error) {
	cfg, err := s.restConfig()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", cfg.Host, err)
	}
	return u.Host, nil
}

func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error = errors.New("no kubeconfig yet")
	for time.Now().Before(deadline) {
		if s.exited() {
			return fmt.Errorf("svcnet exited during start; log:\n%s", tail(filepath.Join(s.dir, "server.log")))
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
	return fmt.Errorf("svcnet not ready after %v: %w; log:\n%s", timeout, last, tail(filepath.Join(s.dir, "server.log")))
}

func (s *server) probe(ctx context.Context) error {
	cfg, err := s.restConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	return err
}

// token creates a join token for the node.
func (s *server) token(node string) (string, error) {
	out, err := exec.Command(s.binary, "token", "create", node, "--data-dir", s.dataDir()).Output()
	if err != nil {
		return "", fmt.Errorf("svcnet token create: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// stop ends the process group: SIGTERM, then SIGKILL after 15s.
func (s *server) stop() {
	stopGroup(s.cmd.Process.Pid, s.done)
}

func stopGroup(pgid int, done <-chan struct{}) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}
