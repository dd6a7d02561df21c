package main

// The HTTPS relay is a second floor for creates: the least an API server that
// writes each create in its own etcd transaction (as kube-apiserver does) must
// do per create, with the same client.
// client-go sends a Service over TLS and HTTP/2 (svcnet's TLS configuration and
// credentials, from internal/pki) to a server that reads the body, writes it to an
// embedded etcd (internal/storage, in-process client, as svcnet runs it) in one
// transaction shaped like svcnet's create (object and allocation key, both checked
// absent), and sends the request body back as the created object. It decodes
// nothing, validates nothing, allocates nothing and keeps no managedFields.
//
// The relay runs in its own process (this binary started again with
// --relay-serve) so that its CPU is measured apart from the benchmark's, as
// svcnet's is.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnet/svcnet/bench/internal/upserver"
	"github.com/svcnet/svcnet/internal/pki"
	"github.com/svcnet/svcnet/internal/storage"
)

// relayMaxBody bounds a request body, as svcnet bounds its own.
const relayMaxBody = 3 << 20

// relayReady is the line the relay prints on stdout once it serves.
const relayReady = "relay serving"

// serveRelay is the relay process: it serves in dir until SIGTERM or stdin closes,
// storing value under a fresh key for every create.
func serveRelay(dir, valueFile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // the benchmark dying closes our stdin
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	value, err := os.ReadFile(valueFile)
	if err != nil {
		return fmt.Errorf("relay: read value: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), log)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	defer store.Close()
	bundle, err := pki.Ensure(pki.Options{DataDir: dir})
	if err != nil {
		return fmt.Errorf("relay: credentials: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	url := "https://" + ln.Addr().String()
	if err := pki.WriteKubeconfig(filepath.Join(dir, "admin.kubeconfig"), url, bundle.CAPEM, bundle.AdminCertPEM, bundle.AdminKeyPEM); err != nil {
		return fmt.Errorf("relay: kubeconfig: %w", err)
	}
	r := &relay{etcd: store.Client(), value: string(value)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/services", r.create)
	srv := &http.Server{Handler: mux, TLSConfig: bundle.ServerTLSConfig(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	fmt.Println(relayReady)
	select {
	case err := <-errc:
		return fmt.Errorf("relay: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// relay answers creates; n numbers them for their keys.
type relay struct {
	etcd  *clientv3.Client
	value string
	n     atomic.Int64
}

func (r *relay) create(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, relayMaxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	i := r.n.Add(1)
	key := fmt.Sprintf("/relay/services/%s/%d", req.PathValue("ns"), i)
	alloc := fmt.Sprintf("/relay/ranges/serviceips/10.%d.%d.%d", 96+i>>16&15, i>>8&255, i&255)
	resp, err := r.etcd.Txn(req.Context()).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0), clientv3.Compare(clientv3.CreateRevision(alloc), "=", 0)).
		Then(clientv3.OpPut(key, r.value), clientv3.OpPut(alloc, key)).
		Commit()
	switch {
	case err != nil:
		http.Error(w, "etcd: "+err.Error(), http.StatusInternalServerError)
		return
	case !resp.Succeeded:
		http.Error(w, "exists", http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", req.Header.Get("Content-Type"))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

// relayProc is a running relay process.
type relayProc struct {
	dir   string
	cmd   *exec.Cmd
	stdin io.Closer
	done  chan struct{}
}

// startRelay starts this binary as a relay storing value, and returns once it
// serves.
func startRelay(ctx context.Context, value []byte) (*relayProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("relay: find own binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "svb-relay")
	if err != nil {
		return nil, fmt.Errorf("relay: temp dir: %w", err)
	}
	valueFile := filepath.Join(dir, "value")
	if err := os.WriteFile(valueFile, value, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("relay: write value: %w", err)
	}
	cmd := exec.Command(self, "--relay-serve", dir, "--relay-value", valueFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("relay: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("relay: %w", err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("relay: start: %w", err)
	}
	p := &relayProc{dir: dir, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == relayReady {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- errors.New("relay exited before serving")
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	select {
	case err = <-ready:
	case <-time.After(60 * time.Second):
		err = errors.New("relay not serving after 60s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("relay: %w", err)
	}
	return p, nil
}

func (p *relayProc) pid() int           { return p.cmd.Process.Pid }
func (p *relayProc) kubeconfig() string { return filepath.Join(p.dir, "admin.kubeconfig") }

// stop ends the relay's process group and removes its dir.
func (p *relayProc) stop() {
	_ = p.stdin.Close()
	upserver.StopGroup(p.cmd.Process.Pid, p.done)
	os.RemoveAll(p.dir)
}

// measureRelay times n creates from workers clients against a fresh relay that
// stores value, after warmupWrites untimed ones, with client-go configured as
// for svcnet.
func measureRelay(ctx context.Context, cfg config, value []byte) (phase, error) {
	p, err := startRelay(ctx, value)
	if err != nil {
		return phase{}, err
	}
	defer p.stop()
	restCfg, err := upserver.AdminConfig(p.kubeconfig(), "svcnet-bench")
	if err != nil {
		return phase{}, fmt.Errorf("relay: %w", err)
	}
	wireFormat(restCfg, cfg)
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return phase{}, fmt.Errorf("relay client: %w", err)
	}
	meter := cpuMeter{pid: p.pid()}
	if w := runParallel(ctx, "warm-up", warmupWrites, 4, meter, createServices(cs, nsWarm)); w.errs > 0 {
		return phase{}, fmt.Errorf("relay warm-up creates: %w", w.firstErr)
	}
	name := fmt.Sprintf("HTTPS relay create, %d clients", cfg.clients)
	ph := runParallel(ctx, name, cfg.services, cfg.clients, meter, createServices(cs, nsParallel))
	progress("%s: %d in %v (%.0f/s), p50 %v p99 %v, errors %d", ph.name, ph.ops, ph.wall.Round(time.Millisecond),
		ph.rate(), percentile(ph.lat, 50), percentile(ph.lat, 99), ph.errs)
	if ph.errs > 0 {
		return phase{}, fmt.Errorf("%s: %d errors, first: %w", ph.name, ph.errs, ph.firstErr)
	}
	return ph, nil
}
