package pki

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Test addresses: 10.96.0.1 is the first service IP; 192.0.2.0/24 and
// example.com stand for a node's external names.

func mustEnsure(t *testing.T, opts Options, now time.Time) *Bundle {
	t.Helper()
	b, err := ensure(opts, now)
	if err != nil {
		t.Fatalf("ensure(%+v) error: %v", opts, err)
	}
	return b
}

func readFiles(t *testing.T, dataDir string, names ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range names {
		data, err := os.ReadFile(pkiPath(dataDir, n))
		if err != nil {
			t.Fatalf("read %s: %v", n, err)
		}
		out[n] = data
	}
	return out
}

var allFiles = []string{caCertFile, caKeyFile, servingCertFile, servingKeyFile, adminCertFile, adminKeyFile}

func TestEnsureReusesExisting(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, Hosts: []string{"192.0.2.10", "node.example.com"}, ServiceIP: netip.MustParseAddr("10.96.0.1")}
	first, err := Ensure(opts)
	if err != nil {
		t.Fatalf("first Ensure: %v", err)
	}
	before := readFiles(t, dir, allFiles...)
	second, err := Ensure(opts)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	after := readFiles(t, dir, allFiles...)
	for _, n := range allFiles {
		if !bytes.Equal(before[n], after[n]) {
			t.Errorf("%s changed on second Ensure", n)
		}
	}
	checks := []struct {
		name        string
		first, then []byte
	}{
		{name: "CAPEM", first: first.CAPEM, then: second.CAPEM},
		{name: "ServingCertPEM", first: first.ServingCertPEM, then: second.ServingCertPEM},
		{name: "ServingCert.Certificate[0]", first: first.ServingCert.Certificate[0], then: second.ServingCert.Certificate[0]},
		{name: "AdminCertPEM", first: first.AdminCertPEM, then: second.AdminCertPEM},
		{name: "AdminKeyPEM", first: first.AdminKeyPEM, then: second.AdminKeyPEM},
	}
	for _, c := range checks {
		if !bytes.Equal(c.first, c.then) {
			t.Errorf("%s differs between Ensure calls", c.name)
		}
	}
	if !first.CA.Equal(second.CA) {
		t.Errorf("CA differs between Ensure calls")
	}
}

func TestEnsureRenewal(t *testing.T) {
	now := time.Now()
	base := Options{Hosts: []string{"192.0.2.10", "node.example.com"}, ServiceIP: netip.MustParseAddr("10.96.0.1")}
	tests := []struct {
		name        string
		change      func(o Options) Options
		at          time.Time
		wantServing bool // serving certificate reissued
		wantAdmin   bool // admin certificate reissued
	}{
		{name: "same options", change: func(o Options) Options { return o }, at: now},
		{name: "fewer hosts still covered", change: func(o Options) Options { o.Hosts = o.Hosts[:1]; return o }, at: now},
		{name: "host in different case", change: func(o Options) Options { o.Hosts = []string{"192.0.2.10", "Node.Example.COM."}; return o }, at: now},
		{name: "new DNS name", change: func(o Options) Options { o.Hosts = append(o.Hosts, "other.example.com"); return o }, at: now, wantServing: true},
		{name: "new IP", change: func(o Options) Options { o.Hosts = append(o.Hosts, "2001:db8::7"); return o }, at: now, wantServing: true},
		{name: "new service IP", change: func(o Options) Options { o.ServiceIP = netip.MustParseAddr("10.0.0.1"); return o }, at: now, wantServing: true},
		{name: "200 days later", change: func(o Options) Options { return o }, at: now.Add(200 * 24 * time.Hour)},
		{name: "within 30 days of expiry", change: func(o Options) Options { return o }, at: now.Add(340 * 24 * time.Hour), wantServing: true, wantAdmin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			opts.DataDir = t.TempDir()
			first := mustEnsure(t, opts, now)
			before := readFiles(t, opts.DataDir, allFiles...)

			next := tt.change(opts)
			second := mustEnsure(t, next, tt.at)
			after := readFiles(t, opts.DataDir, allFiles...)

			want := map[string]bool{
				caCertFile: false, caKeyFile: false,
				servingCertFile: tt.wantServing, servingKeyFile: tt.wantServing,
				adminCertFile: tt.wantAdmin, adminKeyFile: tt.wantAdmin,
			}
			for n, wantChanged := range want {
				if got := !bytes.Equal(before[n], after[n]); got != wantChanged {
					t.Errorf("%s changed = %v; want %v", n, got, wantChanged)
				}
			}
			if got := !bytes.Equal(first.ServingCertPEM, second.ServingCertPEM); got != tt.wantServing {
				t.Errorf("Bundle.ServingCertPEM changed = %v; want %v", got, tt.wantServing)
			}
			if !bytes.Equal(second.ServingCertPEM, after[servingCertFile]) {
				t.Errorf("Bundle.ServingCertPEM is not the file content")
			}
			for _, h := range append(append([]string{}, next.Hosts...), next.ServiceIP.String()) {
				if err := second.ServingCert.Leaf.VerifyHostname(h); err != nil {
					t.Errorf("serving certificate does not cover %q: %v", h, err)
				}
			}
			if !tt.at.Add(renewBefore).Before(second.ServingCert.Leaf.NotAfter) {
				t.Errorf("serving certificate NotAfter = %v; want after %v", second.ServingCert.Leaf.NotAfter, tt.at.Add(renewBefore))
			}
		})
	}
}

func TestEnsureCertificates(t *testing.T) {
	now := time.Now()
	b := mustEnsure(t, Options{
		DataDir:   t.TempDir(),
		Hosts:     []string{" 192.0.2.10 ", "", "*.apps.example.com", "[2001:db8::1]"},
		ServiceIP: netip.MustParseAddr("10.96.0.1"),
	}, now)

	hostname, err := os.Hostname()
	if err != nil {
		t.Fatalf("os.Hostname: %v", err)
	}
	serving := b.ServingCert.Leaf
	for _, name := range []string{
		"localhost", "127.0.0.1", "::1", "10.96.0.1", "192.0.2.10", "2001:db8::1", "x.apps.example.com", hostname,
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
	} {
		if err := serving.VerifyHostname(name); err != nil {
			t.Errorf("serving certificate does not cover %q: %v (DNS %v, IPs %v)", name, err, serving.DNSNames, serving.IPAddresses)
		}
	}
	for _, ip := range serving.IPAddresses {
		if ip.Equal(net.ParseIP("0.0.0.0")) {
			t.Errorf("serving certificate lists 0.0.0.0")
		}
	}

	admin, err := parseKeyPair(b.AdminCertPEM, b.AdminKeyPEM)
	if err != nil {
		t.Fatalf("parse admin pair: %v", err)
	}
	years := func(n int) time.Duration { return time.Duration(n) * 365 * 24 * time.Hour }
	tests := []struct {
		name         string
		got          time.Duration
		want         time.Duration
		cn           string
		wantCN       string
		signatureErr error
	}{
		{name: "CA", got: b.CA.NotAfter.Sub(now), want: years(10), cn: b.CA.Subject.CommonName, wantCN: caCommonName, signatureErr: b.CA.CheckSignatureFrom(b.CA)},
		{name: "serving", got: serving.NotAfter.Sub(now), want: years(1), cn: serving.Subject.CommonName, wantCN: servingCommonName, signatureErr: serving.CheckSignatureFrom(b.CA)},
		{name: "admin", got: admin.cert.NotAfter.Sub(now), want: years(1), cn: admin.cert.Subject.CommonName, wantCN: AdminUser, signatureErr: admin.cert.CheckSignatureFrom(b.CA)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := tt.got - tt.want; d < -time.Minute || d > time.Minute {
				t.Errorf("validity = %v; want %v", tt.got, tt.want)
			}
			if tt.cn != tt.wantCN {
				t.Errorf("common name = %q; want %q", tt.cn, tt.wantCN)
			}
			if tt.signatureErr != nil {
				t.Errorf("not signed by the CA: %v", tt.signatureErr)
			}
		})
	}
	if got := admin.cert.Subject.Organization; len(got) != 1 || got[0] != AdminGroup {
		t.Errorf("admin organization = %v; want [%s]", got, AdminGroup)
	}
}

func TestEnsureErrors(t *testing.T) {
	tests := []struct {
		name  string
		opts  func(dir string) Options
		setup func(t *testing.T, dir string)
	}{
		{
			name: "empty data dir",
			opts: func(string) Options { return Options{} },
		},
		{
			name: "bad host",
			opts: func(dir string) Options { return Options{DataDir: dir, Hosts: []string{"https://example.com"}} },
		},
		{
			name: "CA key missing",
			opts: func(dir string) Options { return Options{DataDir: dir} },
			setup: func(t *testing.T, dir string) {
				if err := os.Remove(pkiPath(dir, caKeyFile)); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "CA certificate corrupt",
			opts: func(dir string) Options { return Options{DataDir: dir} },
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(pkiPath(dir, caCertFile), []byte("not pem"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "CA key from another CA",
			opts: func(dir string) Options { return Options{DataDir: dir} },
			setup: func(t *testing.T, dir string) {
				other := t.TempDir()
				mustEnsure(t, Options{DataDir: other}, time.Now())
				key, err := os.ReadFile(pkiPath(other, caKeyFile))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(pkiPath(dir, caKeyFile), key, 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				mustEnsure(t, Options{DataDir: dir}, time.Now())
				tt.setup(t, dir)
			}
			before := readDir(t, dir)
			if b, err := Ensure(tt.opts(dir)); err == nil {
				t.Errorf("Ensure = %v, nil; want an error", b)
			}
			if after := readDir(t, dir); !equalFiles(before, after) {
				t.Errorf("failed Ensure changed files: before %v, after %v", keys(before), keys(after))
			}
		})
	}
}

func TestEnsureRecreatesMissingLeaf(t *testing.T) {
	tests := []struct {
		name   string
		remove string
	}{
		{name: "serving key", remove: servingKeyFile},
		{name: "admin certificate", remove: adminCertFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := mustEnsure(t, Options{DataDir: dir}, time.Now())
			if err := os.Remove(pkiPath(dir, tt.remove)); err != nil {
				t.Fatal(err)
			}
			second := mustEnsure(t, Options{DataDir: dir}, time.Now())
			if !bytes.Equal(first.CAPEM, second.CAPEM) {
				t.Errorf("CA changed after %s was removed", tt.remove)
			}
			if _, err := os.Stat(pkiPath(dir, tt.remove)); err != nil {
				t.Errorf("%s not recreated: %v", tt.remove, err)
			}
		})
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		out[path] = data
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

func equalFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
