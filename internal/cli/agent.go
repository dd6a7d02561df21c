package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/svcnet/svcnet/internal/agent"
	"github.com/svcnet/svcnet/internal/controller/clusterdns"
	"github.com/svcnet/svcnet/internal/proxy"
	"github.com/svcnet/svcnet/internal/proxy/nftables"
)

// AgentConfig is the typed form of `svcnet agent`'s flags.
type AgentConfig struct {
	Kubeconfig        string
	Server            string
	Token             string
	CAFile            string
	NodeName          string
	NodeIPs           []string
	PodCIDRs          []string
	ClusterCIDRs      []string
	NodePortAddresses []string
	ProxyMode         string
	SyncPeriod        time.Duration
	MinSyncPeriod     time.Duration
	LeaseDuration     time.Duration
	HealthzAddress    string
	MetricsAddress    string
	Table             string
	Cleanup           bool
	LogLevel          string
	// Profiling serves Go's pprof handlers next to /metrics.
	Profiling bool

	// Cluster DNS.
	DNS              bool
	DNSBindAddresses []string
	DNSPort          int
	ClusterDomain    string
	DNSTTL           int
	DNSPods          string
	Upstreams        []string
	ResolvConf       string
	DNSRateLimit     float64
	DNSCacheSize     int
	DNSClientCIDRs   []string
}

func newAgentCommand() *cobra.Command {
	cfg := AgentConfig{}
	c := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: register the node and program its data plane",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cfg.LogLevel)
			if err != nil {
				return err
			}
			// client-go logs through klog; send it to the same structured log.
			klog.SetSlogLogger(log)
			return RunAgent(cmd.Context(), cfg, log)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the admin kubeconfig of $SVCNET_DATA_DIR or "+DefaultDataDir+"); ignored with --server")
	f.StringVar(&cfg.Server, "server", "", "API server URL (https://host:port), with --token and --certificate-authority")
	f.StringVar(&cfg.Token, "token", "", "node join token (see 'svcnet token create')")
	f.StringVar(&cfg.CAFile, "certificate-authority", "", "CA certificate of the API server (its <data-dir>/pki/ca.crt)")
	addNodeFlags(f, &cfg, "")
	f.BoolVar(&cfg.Profiling, "profiling", false, "serve Go profiles at /debug/pprof/ on --metrics-bind-address")
	f.BoolVar(&cfg.Cleanup, "cleanup", false, "remove everything the agent programmed on this node, then exit")
	f.StringVar(&cfg.LogLevel, "log-level", "info", "(logging) debug, info, warn or error")
	return c
}

// addNodeFlags registers the node and data plane flags that `svcnet agent` and
// `svcnet up` share; prefix starts their help texts ("(agent) " for up).
func addNodeFlags(f *pflag.FlagSet, cfg *AgentConfig, prefix string) {
	f.StringVar(&cfg.NodeName, "node-name", "", prefix+"name of this node (default: the host name)")
	f.StringSliceVar(&cfg.NodeIPs, "node-ip", nil, prefix+"this node's IP addresses (default: the address of the default route's interface)")
	f.StringSliceVar(&cfg.PodCIDRs, "pod-cidr", nil, prefix+"this node's pod networks, at most one per IP family, written to the Node's spec.podCIDRs (the first also to spec.podCIDR)")
	f.StringSliceVar(&cfg.ClusterCIDRs, "cluster-cidr", nil, prefix+"the cluster's pod networks: ClusterIP traffic from outside them is masqueraded")
	f.StringSliceVar(&cfg.NodePortAddresses, "nodeport-addresses", nil, prefix+"CIDRs of local addresses that accept node ports, or 'primary' for the node IPs (default: every local address but 127.0.0.0/8)")
	f.StringVar(&cfg.ProxyMode, "proxy-mode", "nftables", prefix+"data plane: nftables, or none (no data plane: node registration and DNS only)")
	f.DurationVar(&cfg.SyncPeriod, "sync-period", 30*time.Second, prefix+"interval of full data plane syncs, which repair changes made behind svcnet's back")
	f.DurationVar(&cfg.MinSyncPeriod, "min-sync-period", 0, prefix+"least time between two syncs; changes within it are batched")
	f.DurationVar(&cfg.LeaseDuration, "node-lease-duration", 40*time.Second, prefix+"duration of the node's Lease, renewed every quarter of it")
	f.StringVar(&cfg.HealthzAddress, "healthz-bind-address", "0.0.0.0:10256", prefix+"address of /healthz (kube-proxy's format); empty disables")
	f.StringVar(&cfg.MetricsAddress, "metrics-bind-address", "127.0.0.1:10249", prefix+"address of /metrics; empty disables")
	f.StringVar(&cfg.Table, "nftables-table", "svcnet", prefix+"name of the nftables tables (family ip for IPv4, ip6 for IPv6) the agent owns")
	f.BoolVar(&cfg.DNS, "dns", true, prefix+"serve cluster DNS")
	f.StringSliceVar(&cfg.DNSBindAddresses, "dns-bind-address", nil, prefix+"addresses cluster DNS listens on (default: the node IPs)")
	f.IntVar(&cfg.DNSPort, "dns-port", 53, prefix+"port of cluster DNS (UDP and TCP); the kube-dns Service reaches nodes on 53 only")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", prefix+"the cluster's DNS domain")
	f.IntVar(&cfg.DNSTTL, "dns-ttl", 30, prefix+"TTL of cluster DNS answers and of negative answers, in seconds (0-3600)")
	f.StringVar(&cfg.DNSPods, "dns-pods", "verified", prefix+"pod records a-b-c-d.<ns>.pod.<zone>: verified (only addresses of pods in that namespace), insecure (any address) or disabled")
	f.StringSliceVar(&cfg.Upstreams, "upstream", nil, prefix+"resolvers for names outside the cluster, host or host:port (default: the nameservers of --resolv-conf)")
	f.StringVar(&cfg.ResolvConf, "resolv-conf", "/etc/resolv.conf", prefix+"resolver configuration that names the upstream resolvers when --upstream is not given")
	f.Float64Var(&cfg.DNSRateLimit, "dns-rate-limit", 2000, prefix+"most DNS queries per second from one client address, with a burst as large; 0 disables")
	f.IntVar(&cfg.DNSCacheSize, "dns-cache-size", 10000, prefix+"most answers from upstream resolvers kept in the cache; 0 disables")
	f.StringSliceVar(&cfg.DNSClientCIDRs, "dns-client-cidr", nil, prefix+"more networks whose clients may query cluster DNS (loopback, --cluster-cidr, and every node's addresses and pod network always may)")
}

// errNoNetAdmin marks the failure of an agent that may not program nftables.
var errNoNetAdmin = errors.New("the nftables data plane needs CAP_NET_ADMIN (run as root)")

// allFamilies are the IP families a node may serve, in kube-proxy's order.
var allFamilies = []proxy.Family{proxy.IPv4, proxy.IPv6}

// RunAgent runs the node agent until ctx ends.
func RunAgent(ctx context.Context, cfg AgentConfig, log *slog.Logger) error {
	switch cfg.ProxyMode {
	case "nftables":
		if cfg.Cleanup {
			// Both tables, whatever families the node serves now.
			for _, f := range allFamilies {
				p, err := nftables.NewProxier(cfg.Table, f, -1)
				if err != nil {
					return err
				}
				err = p.Cleanup()
				p.Close()
				if err != nil {
					return noPermission(err)
				}
				log.Info("removed the nftables table", "table", p.Table())
			}
			return nil
		}
	case "none":
		if cfg.Cleanup {
			return errors.New("--cleanup removes the nftables data plane; it needs --proxy-mode=nftables")
		}
	default:
		return fmt.Errorf("--proxy-mode: %q is not supported (nftables or none)", cfg.ProxyMode)
	}
	var err error

	nodeName := cfg.NodeName
	if nodeName == "" {
		if nodeName, err = os.Hostname(); err != nil {
			return fmt.Errorf("--node-name: %w", err)
		}
		nodeName = strings.ToLower(nodeName)
	}
	nodeIPs, err := parseAddrs(cfg.NodeIPs)
	if err != nil {
		return fmt.Errorf("--node-ip: %w", err)
	}
	if len(nodeIPs) == 0 {
		ip, err := defaultRouteAddr()
		if err != nil {
			return fmt.Errorf("--node-ip not given and %w", err)
		}
		nodeIPs = []netip.Addr{ip}
	}
	clusterCIDRs, err := parsePrefixes(cfg.ClusterCIDRs)
	if err != nil {
		return fmt.Errorf("--cluster-cidr: %w", err)
	}
	podCIDRs, err := parsePrefixes(cfg.PodCIDRs)
	if err != nil {
		return fmt.Errorf("--pod-cidr: %w", err)
	}
	if len(podCIDRs) > 2 || (len(podCIDRs) == 2 && podCIDRs[0].Addr().Is4() == podCIDRs[1].Addr().Is4()) {
		return fmt.Errorf("--pod-cidr: %v: give at most one pod network per IP family", cfg.PodCIDRs)
	}
	// One data plane per family the node has, as kube-proxy runs a proxier
	// per family on a dual-stack node.
	var planes []agent.FamilyPlane
	if cfg.ProxyMode == "nftables" {
		var first *nftables.Proxier
		for _, f := range nodeFamilies(nodeIPs, clusterCIDRs) {
			p, err := nftables.NewProxier(cfg.Table, f, -1)
			if err != nil {
				return err
			}
			defer p.Close()
			// One namespace, one ruleset generation: each table's commits are
			// not a change behind the other's back.
			if first == nil {
				first = p
			} else {
				p.ShareGenerations(first)
			}
			if err := p.Check(); err != nil {
				return noPermission(err)
			}
			nodePorts, err := nodePortAddresses(cfg.NodePortAddresses, nodeIPs, f)
			if err != nil {
				return fmt.Errorf("--nodeport-addresses: %w", err)
			}
			pcfg := nftables.Config{Table: cfg.Table, Family: f, NodeName: nodeName,
				ClusterCIDRs: ofFamily(f, clusterCIDRs, netip.Prefix.Addr), NodeIPs: ofFamily(f, nodeIPs, func(a netip.Addr) netip.Addr { return a })}
			planes = append(planes, agent.FamilyPlane{Family: f, Plane: nftables.NewPlane(p, pcfg, nodePorts, log)})
			log.Info("programming the nftables data plane", "table", p.Table())
		}
	}
	restCfg, err := agentRestConfig(cfg)
	if err != nil {
		return err
	}
	restCfg.ContentType = "application/vnd.kubernetes.protobuf"
	restCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	restCfg.QPS, restCfg.Burst = 50, 100
	restCfg.UserAgent = "svcnet-agent/" + nodeName
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dnsParts, err := newClusterDNS(cfg, client, nodeIPs, clusterCIDRs, reg, log.With("component", "dns"))
	if err != nil {
		return err
	}
	a := agent.New(agent.Config{
		NodeName: nodeName, NodeIPs: nodeIPs, PodCIDRs: cfg.PodCIDRs,
		SyncPeriod: cfg.SyncPeriod, MinSyncPeriod: cfg.MinSyncPeriod, LeaseDuration: cfg.LeaseDuration,
		Labels: map[string]string{clusterdns.NodeLabel: strconv.FormatBool(dnsParts.servesKubeDNS(nodeIPs))},
	}, client, planes, reg, log)

	g, gctx := errgroup.WithContext(ctx)
	if dnsParts != nil {
		if err := dnsParts.server.Listen(); err != nil {
			return fmt.Errorf("%w (choose another --dns-bind-address or --dns-port, or --dns=false)", err)
		}
		log.Info("serving cluster DNS", "addresses", dnsParts.server.Addrs(), "zone", cfg.ClusterDomain, "upstreams", dnsParts.upstreams)
		g.Go(func() error { dnsParts.source.Run(gctx); return nil })
		g.Go(func() error { return dnsParts.server.Run(gctx) })
		g.Go(func() error {
			if dnsParts.source.WaitForSync(gctx) {
				dnsParts.handler.SetReady()
				log.Info("cluster DNS caches synced; answering")
			}
			return nil
		})
	}
	serve := func(addr, what string, h http.Handler) error {
		if addr == "" {
			return nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen for %s on %s: %w", what, addr, err)
		}
		log.Info("serving "+what, "address", l.Addr().String())
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			<-gctx.Done()
			shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return srv.Shutdown(shut)
		})
		g.Go(func() error {
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve %s: %w", what, err)
			}
			return nil
		})
		return nil
	}
	health := http.NewServeMux()
	health.Handle("/", a.HealthHandler())
	health.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if dnsParts != nil && !dnsParts.handler.Ready() {
			http.Error(w, "cluster DNS caches not synced", http.StatusServiceUnavailable)
			return
		}
		if _, ok := a.Healthy(time.Now()); !ok {
			http.Error(w, "data plane not in step", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	if err := serve(cfg.HealthzAddress, "healthz", health); err != nil {
		return err
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if cfg.Profiling {
		metricsMux.HandleFunc("/debug/pprof/", pprof.Index)
		metricsMux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		metricsMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		metricsMux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		metricsMux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if err := serve(cfg.MetricsAddress, "metrics", metricsMux); err != nil {
		return err
	}
	g.Go(func() error { return a.Run(gctx) })
	err = g.Wait()
	// The data plane keeps its rules after the agent stops: connections keep
	// flowing, and the next agent takes the table over (`--cleanup` removes it).
	log.Info("agent stopped", "node", nodeName)
	return err
}

// noPermission turns a netlink permission error into the message a user needs.
func noPermission(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", errNoNetAdmin, err)
	}
	return err
}

// agentRestConfig builds the client configuration from --server/--token or a
// kubeconfig.
func agentRestConfig(cfg AgentConfig) (*rest.Config, error) {
	if cfg.Server != "" {
		if cfg.Token == "" {
			return nil, errors.New("--server needs --token")
		}
		if cfg.CAFile == "" {
			return nil, errors.New("--server needs --certificate-authority (the server's <data-dir>/pki/ca.crt)")
		}
		if _, err := os.Stat(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("--certificate-authority: %w", err)
		}
		return &rest.Config{Host: cfg.Server, BearerToken: cfg.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: cfg.CAFile}}, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = clientKubeconfig(cfg.Kubeconfig, os.Getenv)
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return rc, nil
}

func parseAddrs(ss []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range ss {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// nodeFamilies are the IP families the node serves: those of its addresses
// and of its cluster CIDRs.
func nodeFamilies(nodeIPs []netip.Addr, clusterCIDRs []netip.Prefix) []proxy.Family {
	var out []proxy.Family
	for _, f := range allFamilies {
		has := func(a netip.Addr) bool { return familyOf(a) == f }
		if slices.ContainsFunc(nodeIPs, has) || slices.ContainsFunc(clusterCIDRs, func(p netip.Prefix) bool { return has(p.Addr()) }) {
			out = append(out, f)
		}
	}
	return out
}

func familyOf(a netip.Addr) proxy.Family {
	if a.Unmap().Is4() {
		return proxy.IPv4
	}
	return proxy.IPv6
}

// ofFamily are the items of in whose address is of family f.
func ofFamily[T any](f proxy.Family, in []T, addr func(T) netip.Addr) []T {
	var out []T
	for _, x := range in {
		if familyOf(addr(x)) == f {
			out = append(out, x)
		}
	}
	return out
}

// nodePortAddresses turns the flag into the function the data plane of family
// asks at every sync: nil for every local address, the node IPs for
// "primary", else the local addresses inside the given CIDRs. Like kube-proxy,
// a family that the flag names no CIDR (or node IP) of takes node ports on
// every local address.
func nodePortAddresses(flag []string, nodeIPs []netip.Addr, family proxy.Family) (func() ([]netip.Addr, error), error) {
	if len(flag) == 0 {
		return nil, nil
	}
	if len(flag) == 1 && flag[0] == "primary" {
		ips := ofFamily(family, nodeIPs, func(a netip.Addr) netip.Addr { return a })
		if len(ips) == 0 {
			return nil, nil
		}
		return func() ([]netip.Addr, error) { return ips, nil }, nil
	}
	all, err := parsePrefixes(flag)
	if err != nil {
		return nil, err
	}
	cidrs := ofFamily(family, all, netip.Prefix.Addr)
	if len(cidrs) == 0 {
		return nil, nil
	}
	return func() ([]netip.Addr, error) {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, err
		}
		var out []netip.Addr
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			for _, c := range cidrs {
				if c.Contains(ip) {
					out = append(out, ip)
					break
				}
			}
		}
		return out, nil
	}, nil
}

// defaultRouteAddr finds the local address used to reach the outside: the
// source of a UDP socket "connected" to a documentation address (nothing is
// sent); on a node without an IPv4 default route, the IPv6 one's.
func defaultRouteAddr() (netip.Addr, error) {
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		var err6 error
		if c, err6 = net.Dial("udp6", "[2001:db8::1]:9"); err6 != nil {
			return netip.Addr{}, fmt.Errorf("find the default route's address: %w", errors.Join(err, err6))
		}
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find the default route's address: %w", err)
	}
	return ap.Addr(), nil
}
