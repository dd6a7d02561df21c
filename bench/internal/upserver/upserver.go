// Package upserver runs `svcnet up` for svcnet's benchmark programs: one server
// on a free loopback port, in its own process group and temp data dir, with an
// admin client that speaks protobuf and has no client-side rate limit. It also
// holds the small helpers those programs share around it: stopping a process
// group, the tail of a log, and running a fill from parallel workers.
package upserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options says how to start the server.
type Options struct {
	// Binary is the svcnet binary (the caller builds it).
	Binary string
	// DirPrefix names the temp dir; keep it short, so that the embedded etcd's
	// socket path stays under the 108-byte limit.
	DirPrefix string
	// Args are flags added after the ones Start always passes: `up --data-dir
	// DIR/data --bind-address 127.0.0.1 --secure-port 0 --etcd-compaction-interval 0
	// --log-level warn --agent=false`.
	Args []string
	// UserAgent is the admin client's.
	UserAgent string
	// Timeout bounds the wait for the API to answer (default 60 s).
	Timeout time.Duration
}

// Server is one running `svcnet up`.
type Server struct {
	Binary    string // absolute path
	Dir       string // temp dir: data/ and server.log
	userAgent string
	log       *os.File
	cmd       *exec.Cmd
	done      chan struct{}
}

// Start runs the server and returns once the admin kubeconfig reads the
// `kubernetes` Service. On error nothing is left running or on disk.
func Start(ctx context.Context, o Options) (*Server, error) {
	abs, err := filepath.Abs(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("svcnet binary %q: %w", o.Binary, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("svcnet binary (run `make build` first): %w", err)
	}
	dir, err := os.MkdirTemp("", o.DirPrefix)
	if err != nil {
		return nil, fmt.Errorf("temp data dir: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("server log: %w", err)
	}
	// Port 0: the server binds a free port and writes it into the kubeconfig.
	// --agent=false: the benchmark host must not become a node of its own.
	args := append([]string{"up", "--data-dir", filepath.Join(dir, "data"), "--bind-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-compaction-interval", "0", "--log-level", "warn", "--agent=false"}, o.Args...)
	cmd := exec.Command(abs, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start svcnet: %w", err)
	}
	s := &Server{Binary: abs, Dir: dir, userAgent: o.UserAgent, log: logf, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := s.waitReady(ctx, timeout); err != nil {
		s.Cleanup()
		return nil, err
	}
	return s, nil
}

// DataDir is the server's --data-dir.
func (s *Server) DataDir() string { return filepath.Join(s.Dir, "data") }

// Kubeconfig is the admin kubeconfig the server wrote.
func (s *Server) Kubeconfig() string { return filepath.Join(s.DataDir(), "admin.kubeconfig") }

// Pid is the server's process id (and process group id).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited reports whether the server process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// RestConfig is the admin's, speaking protobuf, without client-side rate limit.
func (s *Server) RestConfig() (*rest.Config, error) { return AdminConfig(s.Kubeconfig(), s.userAgent) }

// AdminConfig loads a kubeconfig for a benchmark's client: protobuf, and no
// client-side rate limit.
func AdminConfig(kubeconfig, userAgent string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	// A negative QPS turns client-go's rate limiter off.
	cfg.QPS, cfg.Burst = -1, 0
	cfg.UserAgent = userAgent
	return cfg, nil
}

// Client is a clientset on RestConfig.
func (s *Server) Client() (*kubernetes.Clientset, error) {
	cfg, err := s.RestConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error = errors.New("no kubeconfig yet")
	for time.Now().Before(deadline) {
		if s.Exited() {
			return fmt.Errorf("svcnet exited during start; log:\n%s", s.LogTail())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, err := os.Stat(s.Kubeconfig()); err == nil {
			if last = s.probe(ctx); last == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("svcnet not ready after %v: %w; log:\n%s", timeout, last, s.LogTail())
}

func (s *Server) probe(ctx context.Context) error {
	cfg, err := s.RestConfig()
	if err != nil {
		return err
	}
	return Probe(ctx, cfg)
}

// Probe reads the `kubernetes` Service with cfg (2 s timeout): once it answers,
// the server has bootstrapped.
func Probe(ctx context.Context, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
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

// LogTail is the end of the server's log.
func (s *Server) LogTail() string { return Tail(filepath.Join(s.Dir, "server.log")) }

// Stop ends the server's process group (SIGTERM, SIGKILL after 15 s).
func (s *Server) Stop() {
	StopGroup(s.cmd.Process.Pid, s.done)
	s.log.Close()
}

// Cleanup stops the server and removes its temp dir.
func (s *Server) Cleanup() {
	s.Stop()
	os.RemoveAll(s.Dir)
}

// StopGroup sends SIGTERM to process group pgid and SIGKILL after 15 s if done
// is not closed by then; it returns when done is closed.
func StopGroup(pgid int, done <-chan struct{}) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// Tail is the last 4,000 bytes of the file at path, or the error reading it.
func Tail(path string) string {
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

// Parallel calls op for every i in [0, n) from workers goroutines and returns
// the first error; after one error no new calls start.
func Parallel(ctx context.Context, n, workers int, op func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := op(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		// The parent was cancelled (SIGINT).
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	return first
}
