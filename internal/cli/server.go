package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/svcnet/svcnet/internal/allocator"
	"github.com/svcnet/svcnet/internal/apiserver"
	"github.com/svcnet/svcnet/internal/controller/apiendpoints"
	"github.com/svcnet/svcnet/internal/pki"
	"github.com/svcnet/svcnet/internal/storage"
)

// ServerConfig is the typed form of the server flags.
type ServerConfig struct {
	DataDir          string
	BindAddress      string
	SecurePort       int
	AdvertiseAddress string
	EtcdServers      []string
	ServiceCIDR      string
	NodePortRange    string
	TLSSANs          []string
	LogLevel         string
	CompactInterval  time.Duration
	BookmarkInterval time.Duration
	LeaseDuration    time.Duration
	Profiling        bool
	// MaxEndpointsPerSlice is kube-controller-manager's --max-endpoints-per-slice.
	MaxEndpointsPerSlice int
	// NodeMonitorGracePeriod is how long a node may go without a heartbeat before
	// it is marked not ready.
	NodeMonitorGracePeriod time.Duration
	// Controllers selects the controllers to run (kube-controller-manager's --controllers).
	Controllers []string
	// Agent, when set, runs a node agent for this machine next to the server
	// (`svcnet up`), with the admin kubeconfig.
	Agent *AgentConfig
}

func newServerCommand(use, short string) *cobra.Command {
	cfg := ServerConfig{}
	agentCfg, withAgent := AgentConfig{}, false
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cfg.LogLevel)
			if err != nil {
				return err
			}
			if withAgent {
				agentCfg.LogLevel = cfg.LogLevel
				cfg.Agent = &agentCfg
			}
			return RunServer(cmd.Context(), cfg, log)
		},
	}
	f := c.Flags()
	if use == "up" {
		f.BoolVar(&withAgent, "agent", true, "(agent) also run the node agent for this machine: register it as a Node and program its data plane")
		addNodeFlags(f, &agentCfg, "(agent) ")
		f.BoolVar(&agentCfg.Profiling, "agent-profiling", false, "(agent) serve the agent's Go profiles at /debug/pprof/ on --metrics-bind-address")
	}
	f.StringVar(&cfg.DataDir, "data-dir", DefaultDataDir, "(storage) directory for etcd data, certificates and the admin kubeconfig")
	f.StringVar(&cfg.BindAddress, "bind-address", "0.0.0.0", "(api) address to serve HTTPS on")
	f.IntVar(&cfg.SecurePort, "secure-port", 6443, "(api) port to serve HTTPS on (0 picks a free port)")
	f.StringVar(&cfg.AdvertiseAddress, "advertise-address", "", "(api) address clients and pods should use: in the admin kubeconfig (default 127.0.0.1) and, unless loopback, in the Endpoints of default/kubernetes")
	f.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "(storage) external etcd endpoints; empty runs an embedded single-member etcd in --data-dir")
	f.StringVar(&cfg.ServiceCIDR, "service-cluster-ip-range", "10.96.0.0/12", "(networking) CIDR ClusterIPs are allocated from; two, one IPv4 and one IPv6, separated by a comma, make a dual-stack cluster whose first is the primary family")
	f.StringVar(&cfg.NodePortRange, "service-node-port-range", "30000-32767", "(networking) port range NodePorts are allocated from")
	f.StringSliceVar(&cfg.TLSSANs, "tls-san", nil, "(api) extra IPs or DNS names for the serving certificate")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "(logging) debug, info, warn or error")
	f.DurationVar(&cfg.CompactInterval, "etcd-compaction-interval", 5*time.Minute, "(storage) how often history older than one interval is compacted; 0 disables")
	f.DurationVar(&cfg.BookmarkInterval, "watch-bookmark-interval", time.Minute, "(api) how often watches receive bookmarks")
	f.StringSliceVar(&cfg.Controllers, "controllers", []string{"*"}, "(controllers) controllers to run: '*' for all, 'name' to enable, '-name' to disable; names: "+strings.Join(controllerNames, ", "))
	f.IntVar(&cfg.MaxEndpointsPerSlice, "max-endpoints-per-slice", 100, "(controllers) most endpoints in one EndpointSlice (1-1000)")
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "(controllers) how long a node may go without a heartbeat before it is marked NotReady and its pods not ready")
	f.BoolVar(&cfg.Profiling, "profiling", true, "(api) serve Go profiles at /debug/pprof/ to authenticated clients")
	f.DurationVar(&cfg.LeaseDuration, "leader-elect-lease-duration", 8*time.Second, "(controllers) how long a leader's lease lasts; a dead leader's controllers move to another server within about this long")
	return c
}

// RunServer runs the API server until ctx ends.
func RunServer(ctx context.Context, cfg ServerConfig, log *slog.Logger) error {
	ipRanges, err := allocator.ParseIPRanges(cfg.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cluster-ip-range: %w", err)
	}
	portRange, err := allocator.ParsePortRange(cfg.NodePortRange)
	if err != nil {
		return fmt.Errorf("--service-node-port-range: %w", err)
	}
	var advertise netip.Addr
	if cfg.AdvertiseAddress != "" {
		if advertise, err = netip.ParseAddr(cfg.AdvertiseAddress); err != nil {
			return fmt.Errorf("--advertise-address: %w", err)
		}
	}
	if err := checkControllers(cfg.Controllers); err != nil {
		return err
	}
	if cfg.MaxEndpointsPerSlice < 1 || cfg.MaxEndpointsPerSlice > 1000 {
		return fmt.Errorf("--max-endpoints-per-slice: %d is not between 1 and 1000", cfg.MaxEndpointsPerSlice)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// The server's heap is mostly short-lived request garbage; collecting at 3x the
	// live heap instead of 2x halves GC work for little memory. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	// client-go logs through klog; send it to the same structured log.
	klog.SetSlogLogger(log)
	firstIP, _ := ipRanges[0].Nth(1)
	hosts := append([]string{}, cfg.TLSSANs...)
	if cfg.AdvertiseAddress != "" {
		hosts = append(hosts, cfg.AdvertiseAddress)
	}
	if h := loopbackHost(cfg.BindAddress); h != "127.0.0.1" {
		hosts = append(hosts, h)
	}
	bundle, err := pki.Ensure(pki.Options{DataDir: cfg.DataDir, Hosts: hosts, ServiceIP: firstIP})
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}

	var client *clientv3.Client
	if len(cfg.EtcdServers) == 0 {
		emb, err := storage.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "etcd"), log)
		if err != nil {
			return err
		}
		defer emb.Close()
		client = emb.Client()
	} else {
		client, err = storage.Dial(ctx, cfg.EtcdServers)
		if err != nil {
			return err
		}
		defer client.Close()
	}
	store := storage.New(client)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	tokens, err := newTokenSource(cfg.DataDir, log)
	if err != nil {
		return err
	}
	alloc := newServiceAllocations(store, ipRanges, portRange, log)
	resources := newResources(alloc)
	spec, err := newOpenAPI(resources)
	if err != nil {
		return err
	}
	api, err := apiserver.New(apiserver.Config{
		Store:            store,
		Resources:        resources,
		Authenticator:    &authenticator{tokens: tokens},
		OpenAPI:          spec,
		Registerer:       reg,
		Gatherer:         reg,
		Log:              log,
		Version:          Version(),
		BookmarkInterval: cfg.BookmarkInterval,
		Ready:            alloc.ready,
		Profiling:        cfg.Profiling,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("listen on %s:%d: %w", cfg.BindAddress, cfg.SecurePort, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	host := cfg.AdvertiseAddress
	if host == "" {
		host = "127.0.0.1"
	}
	serverURL := "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	kubeconfig := filepath.Join(cfg.DataDir, "admin.kubeconfig")
	if err := pki.WriteKubeconfig(kubeconfig, serverURL, bundle.CAPEM, bundle.AdminCertPEM, bundle.AdminKeyPEM); err != nil {
		return fmt.Errorf("write admin kubeconfig: %w", err)
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		TLSConfig:         bundle.ServerTLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}

	restCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loopback client config: %w", err)
	}
	// The loopback client must reach this server even when it binds 0.0.0.0.
	restCfg.Host = "https://" + net.JoinHostPort(loopbackHost(cfg.BindAddress), strconv.Itoa(port))
	// The endpoints controllers keep v1 Endpoints, whose every response warns
	// that the API is deprecated; that is for users, not for the log.
	restCfg.WarningHandler = rest.NoWarnings{}

	g, gctx := errgroup.WithContext(ctx)
	// On shutdown the controllers stop first, while the API still serves, so the
	// leader releases its Lease and the next server takes over at once instead of
	// waiting out the lease.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	controllersDone := make(chan struct{})
	g.Go(func() error {
		<-gctx.Done()
		select {
		case <-controllersDone:
		case <-time.After(5 * time.Second):
			log.Warn("controllers did not stop within 5s; stopping the API anyway")
		}
		stopServing()
		return nil
	})
	bootstrapped := make(chan struct{})
	g.Go(func() error {
		defer close(controllersDone)
		select {
		case <-bootstrapped:
		case <-gctx.Done():
			return nil
		}
		return runControllers(gctx, restCfg, ControllerConfig{
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.LeaseDuration * 2 / 3, RetryPeriod: cfg.LeaseDuration / 8,
			MaxEndpointsPerSlice: cfg.MaxEndpointsPerSlice,
			NodeGracePeriod:      cfg.NodeMonitorGracePeriod,
			Controllers:          cfg.Controllers,
		}, log.With("component", "controller-manager"), reg)
	})
	if advertise.IsValid() {
		client, err := kubernetes.NewForConfig(restCfg)
		if err != nil {
			return fmt.Errorf("endpoint reconciler client: %w", err)
		}
		rec := apiendpoints.New(client, advertise, int32(port), log.With("component", "apiendpoints"))
		g.Go(func() error {
			select {
			case <-bootstrapped:
			case <-gctx.Done():
				return nil
			}
			return rec.Run(gctx)
		})
	}
	if cfg.Agent != nil {
		g.Go(func() error {
			select {
			case <-bootstrapped:
			case <-gctx.Done():
				return nil
			}
			return runLocalAgent(gctx, *cfg.Agent, kubeconfig, log.With("component", "agent"))
		})
	}
	g.Go(func() error { return api.Run(serveCtx) })
	g.Go(func() error { return alloc.run(gctx) })
	g.Go(func() error { return bootstrap(gctx, store, api, alloc, log, bootstrapped) })
	if cfg.CompactInterval > 0 {
		g.Go(func() error { return compactLoop(gctx, store, cfg.CompactInterval, log) })
	}
	g.Go(func() error {
		log.Info("serving", "url", serverURL, "kubeconfig", kubeconfig, "service-cidr", cfg.ServiceCIDR, "node-port-range", cfg.NodePortRange)
		// ServeTLS with certificates already in TLSConfig also enables HTTP/2, so
		// client-go multiplexes requests and watches over few connections.
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-serveCtx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	})
	err = g.Wait()
	log.Info("stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// loopbackHost picks the address this process reaches its own listener on.
func loopbackHost(bind string) string {
	switch bind {
	case "", "0.0.0.0", "::":
		return "127.0.0.1"
	}
	return bind
}

// compactLoop discards etcd history older than one interval, as kube-apiserver does.
func compactLoop(ctx context.Context, store *storage.Store, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	var prev int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rev, err := store.Revision(ctx)
		if err != nil {
			log.Warn("read revision for compaction", "err", err)
			continue
		}
		if prev > 0 {
			if err := store.Compact(ctx, prev); err != nil {
				log.Warn("compact etcd", "revision", prev, "err", err)
			} else {
				log.Debug("compacted etcd", "revision", prev)
			}
		}
		prev = rev
	}
}

// runLocalAgent runs `svcnet up`'s node agent. Without CAP_NET_ADMIN it says
// what is missing and lets the server run on: the API works, Services carry no
// traffic.
func runLocalAgent(ctx context.Context, cfg AgentConfig, kubeconfig string, log *slog.Logger) error {
	cfg.Kubeconfig = kubeconfig
	err := RunAgent(ctx, cfg, log)
	if errors.Is(err, errNoNetAdmin) {
		log.Warn("no data plane on this machine: Services get addresses and endpoints but carry no traffic; run as root, or pass --agent=false to silence this", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	return nil
}

// authenticator accepts the admin client certificate and bearer tokens.
type authenticator struct {
	tokens *tokenSource
}

// tokenSource holds the join tokens and reloads them when the tokens file
// changes (`svcnet token create` writes it), checking the file's size and time
// only when a presented token is unknown.
type tokenSource struct {
	path, dataDir string
	log           *slog.Logger

	mu    sync.Mutex
	set   *pki.TokenSet
	stamp string
}

func newTokenSource(dataDir string, log *slog.Logger) (*tokenSource, error) {
	s := &tokenSource{path: pki.TokensPath(dataDir), dataDir: dataDir, log: log}
	set, err := pki.LoadTokens(dataDir)
	if err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	s.set, s.stamp = set, s.fileStamp()
	return s, nil
}

func (s *tokenSource) fileStamp() string {
	fi, err := os.Stat(s.path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

// Lookup returns the name token was issued to.
func (s *tokenSource) Lookup(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.set.Lookup(token); ok {
		return name, true
	}
	if stamp := s.fileStamp(); stamp != s.stamp {
		set, err := pki.LoadTokens(s.dataDir)
		if err != nil {
			s.log.Error("reload tokens; keeping the previous ones", "err", err)
			return "", false
		}
		s.set, s.stamp = set, stamp
		s.log.Info("reloaded join tokens", "file", s.path)
	}
	return s.set.Lookup(token)
}

func (a *authenticator) Authenticate(r *http.Request) (string, bool) {
	// The TLS handshake already verified a presented client certificate against the
	// CA for client use (ClientAuth VerifyClientCertIfGiven), once per connection;
	// its verified chain is all a request needs, so requests pay nothing more.
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		if cn := r.TLS.VerifiedChains[0][0].Subject.CommonName; cn != "" {
			return cn, true
		}
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		if name, ok := a.tokens.Lookup(strings.TrimPrefix(h, "Bearer ")); ok {
			return "token:" + name, true
		}
	}
	return "", false
}

var _ apiserver.Authenticator = (*authenticator)(nil)
