package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// defaultDNSNames are in every serving certificate: loopback and the names the
// in-cluster `kubernetes` Service resolves under.
var defaultDNSNames = []string{
	"localhost",
	"kubernetes",
	"kubernetes.default",
	"kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local",
}

// subjectAltNames is the set of names a serving certificate must cover.
type subjectAltNames struct {
	dnsNames []string // lower-case, no duplicates
	ips      []netip.Addr
}

// wantedSANs collects the names the serving certificate must cover for opts:
// the defaults, the host name, opts.Hosts and opts.ServiceIP.
func wantedSANs(opts Options) (subjectAltNames, error) {
	var s subjectAltNames
	for _, name := range defaultDNSNames {
		s.addDNS(name)
	}
	s.addIP(netip.MustParseAddr("127.0.0.1"))
	s.addIP(netip.IPv6Loopback())
	if host, err := os.Hostname(); err == nil && host != "" {
		s.addDNS(host)
	}
	if opts.ServiceIP.IsValid() {
		s.addIP(opts.ServiceIP)
	}
	for _, h := range opts.Hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			s.addIP(ip)
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if validation.IsDNS1123Subdomain(name) != nil && validation.IsWildcardDNS1123Subdomain(name) != nil {
			return subjectAltNames{}, fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
		}
		s.addDNS(name)
	}
	return s, nil
}

func (s *subjectAltNames) addDNS(name string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if !slices.Contains(s.dnsNames, name) {
		s.dnsNames = append(s.dnsNames, name)
	}
}

func (s *subjectAltNames) addIP(ip netip.Addr) {
	ip = ip.WithZone("").Unmap()
	if !slices.Contains(s.ips, ip) {
		s.ips = append(s.ips, ip)
	}
}

func (s subjectAltNames) netIPs() []net.IP {
	out := make([]net.IP, 0, len(s.ips))
	for _, ip := range s.ips {
		out = append(out, net.IP(ip.AsSlice()))
	}
	return out
}

// coveredBy reports whether cert lists every name and address in s.
func (s subjectAltNames) coveredBy(cert *x509.Certificate) bool {
	for _, want := range s.dnsNames {
		if !slices.ContainsFunc(cert.DNSNames, func(have string) bool { return strings.EqualFold(have, want) }) {
			return false
		}
	}
	for _, want := range s.ips {
		if !slices.ContainsFunc(cert.IPAddresses, func(have net.IP) bool {
			got, ok := netip.AddrFromSlice(have)
			return ok && got.Unmap() == want
		}) {
			return false
		}
	}
	return true
}
