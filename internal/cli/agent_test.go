package cli

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/svcnet/svcnet/internal/proxy"
)

func TestNodeFamilies(t *testing.T) {
	tests := []struct {
		name    string
		nodeIPs []string
		cidrs   []string
		want    []proxy.Family
	}{
		{name: "IPv4 node", nodeIPs: []string{"10.250.0.1"}, cidrs: []string{"10.244.0.0/16"}, want: []proxy.Family{proxy.IPv4}},
		{name: "IPv6 node", nodeIPs: []string{"fd00:10:250::1"}, cidrs: []string{"fd00:10:244::/48"}, want: []proxy.Family{proxy.IPv6}},
		{name: "dual-stack node", nodeIPs: []string{"fd00:10:250::1", "10.250.0.1"}, want: []proxy.Family{proxy.IPv4, proxy.IPv6}},
		{name: "IPv4 node with an IPv6 pod network", nodeIPs: []string{"10.250.0.1"}, cidrs: []string{"fd00:10:244::/48"},
			want: []proxy.Family{proxy.IPv4, proxy.IPv6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ips, err := parseAddrs(tc.nodeIPs)
			if err != nil {
				t.Fatal(err)
			}
			cidrs, err := parsePrefixes(tc.cidrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := nodeFamilies(ips, cidrs); !slices.Equal(got, tc.want) {
				t.Errorf("families = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestNodePortAddressesPerFamily(t *testing.T) {
	nodeIPs := []netip.Addr{netip.MustParseAddr("10.250.0.1"), netip.MustParseAddr("fd00:10:250::1")}
	tests := []struct {
		name   string
		flag   []string
		family proxy.Family
		all    bool // every local address of the family
		want   []netip.Addr
	}{
		{name: "no flag", family: proxy.IPv6, all: true},
		{name: "primary, IPv4", flag: []string{"primary"}, family: proxy.IPv4, want: nodeIPs[:1]},
		{name: "primary, IPv6", flag: []string{"primary"}, family: proxy.IPv6, want: nodeIPs[1:]},
		{name: "only IPv4 CIDRs: every IPv6 address", flag: []string{"10.250.0.0/24"}, family: proxy.IPv6, all: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := nodePortAddresses(tc.flag, nodeIPs, tc.family)
			if err != nil {
				t.Fatal(err)
			}
			if tc.all {
				if f != nil {
					t.Errorf("a function; want nil (every local address)")
				}
				return
			}
			got, err := f()
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("addresses = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
