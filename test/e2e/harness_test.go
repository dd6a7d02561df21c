package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// binary is the svcnet binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "svcnet-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "svcnet")
	ldflags := "-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", binary, "../../cmd/svcnet")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build svcnet:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running svcnet process.
type server struct {
	t          *testing.T
	dataDir    string
	kubeconfig string
	args       []string
	cmd        *exec.Cmd
	logs       *syncBuffer
	home       string
	port       int
}

// startServer runs `svcnet up` (or the given subcommand and flags) with a fresh data
// dir and waits until it is ready.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), home: t.TempDir()}
	s.kubeconfig = filepath.Join(s.dataDir, "admin.kubeconfig")
	s.args = extra
	s.start()
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	if s.port == 0 {
		s.port = freePort(t)
	}
	common := []string{"--data-dir", s.dataDir, "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(s.port)}
	// `up` runs no node agent here: the test would program the host's own
	// nftables. Tests that want one pass --agent=true, or run `svcnet agent`
	// inside a network namespace.
	args := append([]string{"up", "--agent=false"}, common...)
	if len(s.args) > 0 && !strings.HasPrefix(s.args[0], "-") {
		args = append(append([]string{s.args[0]}, common...), s.args[1:]...)
	} else {
		args = append(args, s.args...)
	}
	_ = os.Remove(s.kubeconfig)
	cmd := exec.Command(binary, args...)
	s.logs = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start svcnet: %v", err)
	}
	s.cmd = cmd
	t.Cleanup(s.stop)
	s.waitReady(60 * time.Second)
}

// syncBuffer collects a process's output; tests read it while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freePort returns a loopback port that was free a moment ago; a server keeps it
// across restarts so clients can reconnect.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// stopGroup ends the process group of cmd: SIGTERM, then SIGKILL after grace.
func stopGroup(cmd *exec.Cmd, grace time.Duration) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	stopGroup(s.cmd, 15*time.Second)
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("svcnet logs:\n%s", s.logs.String())
	}
}

// kill stops the server abruptly, as a crash would.
func (s *server) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *server) waitReady(timeout time.Duration) {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.cmd.ProcessState != nil {
			break
		}
		if _, err := os.Stat(s.kubeconfig); err == nil {
			cs, err := kubernetes.NewForConfig(s.restConfig())
			if err == nil {
				_, err = cs.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
				if err == nil {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("svcnet not ready after %v; logs:\n%s", timeout, s.logs.String())
}

func (s *server) restConfig() *rest.Config {
	s.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		s.t.Fatalf("load kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	return cfg
}

func (s *server) client() *kubernetes.Clientset {
	s.t.Helper()
	cs, err := kubernetes.NewForConfig(s.restConfig())
	if err != nil {
		s.t.Fatalf("client: %v", err)
	}
	return cs
}

// url returns the server's base URL from the kubeconfig.
func (s *server) url() string { return s.restConfig().Host }

// anonymous returns an HTTP client that trusts the server but presents no identity.
func (s *server) anonymous() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// result is the outcome of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// kubectl runs the built-in kubectl (`svcnet kubectl`) against the server.
func (s *server) kubectl(stdin string, args ...string) result {
	return s.run(binary, append([]string{"kubectl", "--kubeconfig", s.kubeconfig}, args...), stdin)
}

// debianKubectlPath is where hack/install-deps.sh unpacks Debian's kubectl.
func debianKubectlPath(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SVCNET_TOOLS_DIR")
	if dir == "" {
		dir = "/opt/svcnet-tools"
	}
	p := filepath.Join(dir, "kubernetes-client", "usr", "bin", "kubectl")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("Debian kubectl not found at %s (run ./hack/install-deps.sh)", p)
	}
	return p
}

// debianKubectl runs the stock kubectl from Debian's kubernetes-client package.
func (s *server) debianKubectl(stdin string, args ...string) result {
	s.t.Helper()
	return s.run(debianKubectlPath(s.t), append([]string{"--kubeconfig", s.kubeconfig}, args...), stdin)
}

func (s *server) run(bin string, args []string, stdin string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+s.home, "KUBECONFIG=", "KUBECTL_EXTERNAL_DIFF=", "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// mustKubectl runs kubectl and fails the test on a non-zero exit.
func (s *server) mustKubectl(stdin string, args ...string) string {
	s.t.Helper()
	r := s.kubectl(stdin, args...)
	if r.code != 0 {
		s.t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met after %v: %v", timeout, err)
}

// examplesDir holds the seed manifests.
func examplesDir(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"../../../shared/examples", "../../shared/examples"} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Fatalf("shared/examples not found next to the repository")
	return ""
}
