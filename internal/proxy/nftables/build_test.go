package nftables

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/svcnet/svcnet/internal/proxy"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBuildGolden compares the generated ruleset of the fixture snapshot, which
// has a port of every shape, with testdata/fixture.nft, and its IPv6 twin with
// testdata/fixture-ipv6.nft.
func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name   string
		v6     bool
		mutate func(*Config)
	}{
		{name: "fixture", mutate: func(*Config) {}},
		{name: "nodeport-addresses", mutate: func(c *Config) {
			c.NodePortAddresses = mustAddrs("10.250.0.1")
			c.ClusterCIDRs = nil
		}},
		{name: "fixture-ipv6", v6: true, mutate: func(*Config) {}},
		{name: "nodeport-addresses-ipv6", v6: true, mutate: func(c *Config) {
			c.NodePortAddresses = mustAddrs("fd00:10:250::1")
			c.ClusterCIDRs = nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, snap := fixtureConfig(), fixtureSnapshot()
			if tc.v6 {
				cfg, snap = fixtureConfig6(), fixtureSnapshot6()
			}
			tc.mutate(&cfg)
			rs := Build(snap, cfg)
			if err := rs.Validate(); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".nft")
			got := rs.String()
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("ruleset differs from %s (run with -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

// TestBuilderReuseMatchesBuild runs one Builder through a sequence of changes and
// expects, after each, exactly what a fresh Build gives.
func TestBuilderReuseMatchesBuild(t *testing.T) {
	bd := NewBuilder()
	snap := fixtureSnapshot()
	changes := []func(){
		func() {},
		func() { snap.Ports[9].Endpoints = snap.Ports[9].Endpoints[:1] },
		func() { snap.Ports[0].Endpoints = append(snap.Ports[0].Endpoints, ep("10.244.1.30", 80, "node-a")) },
		func() { snap.Ports[6].AffinityTimeout = 0 },
		func() { snap.Ports = snap.Ports[:5] },
		func() { snap = fixtureSnapshot() },
	}
	for i, change := range changes {
		change()
		// Ports are rebuilt as the agent rebuilds them: new values, same content
		// where nothing changed.
		fresh := &proxy.Snapshot{}
		for _, sp := range snap.Ports {
			c := *sp
			c.Endpoints = append([]proxy.Endpoint(nil), sp.Endpoints...)
			fresh.Ports = append(fresh.Ports, &c)
		}
		if got, want := bd.Build(fresh, fixtureConfig()).String(), Build(fresh, fixtureConfig()).String(); got != want {
			t.Fatalf("step %d: reused builder gives\n%s\nwant\n%s", i, got, want)
		}
	}
	// A changed configuration rebuilds everything.
	cfg := fixtureConfig()
	cfg.NodeName = "node-b"
	if got, want := bd.Build(snap, cfg).String(), Build(snap, cfg).String(); got != want {
		t.Fatalf("after a config change: reused builder gives\n%s\nwant\n%s", got, want)
	}
}
