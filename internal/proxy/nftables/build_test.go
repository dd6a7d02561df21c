package nftables

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBuildGolden compares the generated ruleset of the fixture snapshot, which
// has a port of every shape, with testdata/fixture.nft.
func TestBuildGolden(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "fixture", mutate: func(*Config) {}},
		{name: "nodeport-addresses", mutate: func(c *Config) {
			c.NodePortAddresses = mustAddrs("10.250.0.1")
			c.ClusterCIDRs = nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureConfig()
			tc.mutate(&cfg)
			rs := Build(fixtureSnapshot(), cfg)
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
