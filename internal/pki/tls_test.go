package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// identity is what the test server reports about its caller.
type identity struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	OK     bool     `json:"ok"`
}

func newTLSServer(t *testing.T, b *Bundle) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id identity
		id.User, id.Groups, id.OK = b.VerifyClient(r.TLS.PeerCertificates)
		if err := json.NewEncoder(w).Encode(id); err != nil {
			t.Errorf("encode identity: %v", err)
		}
	}))
	srv.TLS = b.ServerTLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestServerTLSConfig(t *testing.T) {
	dir := t.TempDir()
	b, err := Ensure(Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	srv := newTLSServer(t, b)

	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	if err := WriteKubeconfig(kubeconfig, srv.URL, b.CAPEM, b.AdminCertPEM, b.AdminKeyPEM); err != nil {
		t.Fatalf("WriteKubeconfig: %v", err)
	}
	other, err := Ensure(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Ensure other CA: %v", err)
	}

	tests := []struct {
		name    string
		config  func(t *testing.T) *rest.Config
		want    identity
		wantErr bool
	}{
		{
			name: "admin from kubeconfig",
			config: func(t *testing.T) *rest.Config {
				cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
				if err != nil {
					t.Fatalf("load kubeconfig: %v", err)
				}
				return cfg
			},
			want: identity{User: AdminUser, Groups: []string{AdminGroup}, OK: true},
		},
		{
			name: "no client certificate",
			config: func(*testing.T) *rest.Config {
				return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: b.CAPEM}}
			},
			want: identity{},
		},
		{
			name: "client certificate from another CA",
			config: func(*testing.T) *rest.Config {
				return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{
					CAData: b.CAPEM, CertData: other.AdminCertPEM, KeyData: other.AdminKeyPEM,
				}}
			},
			wantErr: true,
		},
		{
			name: "server checked against another CA",
			config: func(*testing.T) *rest.Config {
				return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: other.CAPEM}}
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.config(t)
			cfg.Timeout = 10 * time.Second
			client, err := rest.HTTPClientFor(cfg)
			if err != nil {
				t.Fatalf("HTTPClientFor: %v", err)
			}
			resp, err := client.Get(srv.URL)
			if tt.wantErr {
				if err == nil {
					_ = resp.Body.Close()
					t.Fatalf("GET = %s; want a TLS error", resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			var got identity
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatalf("decode identity: %v", err)
			}
			if got.User != tt.want.User || got.OK != tt.want.OK || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("identity = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestServerTLSConfigVersion(t *testing.T) {
	b, err := Ensure(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	cfg := b.ServerTLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x; want %x", cfg.MinVersion, tls.VersionTLS12)
	}
	if cfg.ClientAuth != tls.VerifyClientCertIfGiven {
		t.Errorf("ClientAuth = %v; want %v", cfg.ClientAuth, tls.VerifyClientCertIfGiven)
	}
	if cfg == b.ServerTLSConfig() {
		t.Errorf("ServerTLSConfig returned the same *tls.Config twice; want a fresh one per call")
	}
}

func TestVerifyClient(t *testing.T) {
	now := time.Now()
	b := mustEnsure(t, Options{DataDir: t.TempDir()}, now)
	other := mustEnsure(t, Options{DataDir: t.TempDir()}, now)
	parse := func(certPEM, keyPEM []byte) *x509.Certificate {
		kp, err := parseKeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("parse pair: %v", err)
		}
		return kp.cert
	}
	admin := parse(b.AdminCertPEM, b.AdminKeyPEM)
	foreign := parse(other.AdminCertPEM, other.AdminKeyPEM)

	tests := []struct {
		name       string
		certs      []*x509.Certificate
		wantUser   string
		wantGroups []string
		wantOK     bool
	}{
		{name: "admin", certs: []*x509.Certificate{admin}, wantUser: AdminUser, wantGroups: []string{AdminGroup}, wantOK: true},
		{name: "admin with CA appended", certs: []*x509.Certificate{admin, b.CA}, wantUser: AdminUser, wantGroups: []string{AdminGroup}, wantOK: true},
		{name: "none", certs: nil},
		{name: "other CA", certs: []*x509.Certificate{foreign}},
		{name: "other CA with our CA as intermediate", certs: []*x509.Certificate{foreign, b.CA}},
		{name: "serving certificate is not for clients", certs: []*x509.Certificate{b.ServingCert.Leaf}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, groups, ok := b.VerifyClient(tt.certs)
			if user != tt.wantUser || !slices.Equal(groups, tt.wantGroups) || ok != tt.wantOK {
				t.Errorf("VerifyClient = %q, %v, %v; want %q, %v, %v", user, groups, ok, tt.wantUser, tt.wantGroups, tt.wantOK)
			}
		})
	}
}
