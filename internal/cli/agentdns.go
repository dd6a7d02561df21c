package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnet/svcnet/internal/controller/clusterdns"
	"github.com/svcnet/svcnet/internal/dns"
)

// clusterDNS is the agent's DNS server and what feeds it.
type clusterDNS struct {
	handler   *dns.Handler
	server    *dns.Server
	source    *dns.Source
	addrs     []netip.AddrPort
	upstreams []string
}

// servesKubeDNS tells whether the kube-dns Service can route to this node:
// DNS on port 53 of the node's first address.
func (c *clusterDNS) servesKubeDNS(nodeIPs []netip.Addr) bool {
	if c == nil || len(nodeIPs) == 0 {
		return false
	}
	return slices.ContainsFunc(c.addrs, func(ap netip.AddrPort) bool {
		return ap.Port() == clusterdns.Port && (ap.Addr() == nodeIPs[0] || ap.Addr().IsUnspecified())
	})
}

// newClusterDNS builds cluster DNS from the agent's flags (nil with --dns=false).
// It binds nothing.
func newClusterDNS(cfg AgentConfig, client kubernetes.Interface, nodeIPs []netip.Addr, clusterCIDRs []netip.Prefix, reg prometheus.Registerer, log *slog.Logger) (*clusterDNS, error) {
	if !cfg.DNS {
		return nil, nil
	}
	zone := strings.ToLower(strings.TrimSuffix(cfg.ClusterDomain, "."))
	if err := validDomain(zone); err != nil {
		return nil, fmt.Errorf("--cluster-domain: %w", err)
	}
	if cfg.DNSTTL < 0 || cfg.DNSTTL > 3600 {
		return nil, fmt.Errorf("--dns-ttl: %d is not between 0 and 3600", cfg.DNSTTL)
	}
	pods := dns.PodRecords(cfg.DNSPods)
	switch pods {
	case dns.PodsVerified, dns.PodsInsecure, dns.PodsDisabled:
	default:
		return nil, fmt.Errorf("--dns-pods: %q is not verified, insecure or disabled", cfg.DNSPods)
	}
	if cfg.DNSRateLimit != 0 && cfg.DNSRateLimit < 1 {
		return nil, fmt.Errorf("--dns-rate-limit: %v is below 1 query per second (0 disables the limit)", cfg.DNSRateLimit)
	}
	if cfg.DNSPort < 0 || cfg.DNSPort > 65535 {
		return nil, fmt.Errorf("--dns-port: %d is not a port", cfg.DNSPort)
	}
	bind, err := parseAddrs(cfg.DNSBindAddresses)
	if err != nil {
		return nil, fmt.Errorf("--dns-bind-address: %w", err)
	}
	if len(bind) == 0 {
		bind = nodeIPs
	}
	c := &clusterDNS{}
	for _, ip := range bind {
		c.addrs = append(c.addrs, netip.AddrPortFrom(ip, uint16(cfg.DNSPort)))
	}
	extra, err := parsePrefixes(cfg.DNSClientCIDRs)
	if err != nil {
		return nil, fmt.Errorf("--dns-client-cidr: %w", err)
	}
	allowed := append(append([]netip.Prefix(nil), clusterCIDRs...), extra...)
	for _, ip := range nodeIPs {
		allowed = append(allowed, netip.PrefixFrom(ip, ip.BitLen()))
	}
	for _, s := range cfg.PodCIDRs {
		if p, err := netip.ParsePrefix(s); err == nil {
			allowed = append(allowed, p.Masked())
		}
	}
	filter := dns.NewClientFilter(allowed)

	upstreams, err := upstreamsOf(cfg)
	if err != nil {
		return nil, err
	}
	// Never forward to ourselves: a node whose resolv.conf names its own DNS
	// address would loop.
	upstreams = slices.DeleteFunc(upstreams, func(u string) bool {
		ap, err := netip.ParseAddrPort(u)
		return err == nil && slices.ContainsFunc(c.addrs, func(b netip.AddrPort) bool {
			return b.Port() == ap.Port() && (b.Addr() == ap.Addr() || b.Addr().IsUnspecified())
		})
	})
	if len(upstreams) == 0 {
		log.Warn("no upstream resolvers: names outside the cluster are refused")
	}
	c.upstreams = upstreams
	metrics := dns.NewMetrics(reg)
	var fwd *dns.Forwarder
	if len(upstreams) > 0 {
		fwd = dns.NewForwarder(upstreams, cfg.DNSCacheSize, metrics)
	}
	ix := dns.NewIndex(zone)
	c.handler = dns.NewHandler(ix, dns.Config{
		TTL: uint32(cfg.DNSTTL), Pods: pods, Allowed: filter.Allowed, RateLimit: cfg.DNSRateLimit,
	}, fwd, metrics)
	c.server = dns.NewServer(c.handler, c.addrs, log)
	c.source = dns.NewSource(client, ix, pods, filter)
	return c, nil
}

// upstreamsOf returns --upstream as host:port, or the nameservers of
// --resolv-conf. A missing resolv.conf means no forwarding.
func upstreamsOf(cfg AgentConfig) ([]string, error) {
	if len(cfg.Upstreams) == 0 {
		ups, err := dns.Upstreams(cfg.ResolvConf)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return ups, err
	}
	var out []string
	for _, u := range cfg.Upstreams {
		u = strings.TrimSpace(u)
		if ip, err := netip.ParseAddr(u); err == nil {
			out = append(out, netip.AddrPortFrom(ip, 53).String())
			continue
		}
		ap, err := netip.ParseAddrPort(u)
		if err != nil {
			return nil, fmt.Errorf("--upstream: %q is not an IP address or IP:port", u)
		}
		out = append(out, ap.String())
	}
	return out, nil
}

// validDomain checks a cluster domain: a DNS subdomain, as Kubernetes validates
// names.
func validDomain(d string) error {
	if errs := validation.IsDNS1123Subdomain(d); len(errs) > 0 {
		return fmt.Errorf("%q is not a domain name: %s", d, strings.Join(errs, "; "))
	}
	return nil
}
