package pki

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestFileModes(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	b, err := Ensure(Options{DataDir: dataDir})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if err := WriteKubeconfig(KubeconfigPath(dataDir), "https://127.0.0.1:6443", b.CAPEM, b.AdminCertPEM, b.AdminKeyPEM); err != nil {
		t.Fatalf("WriteKubeconfig: %v", err)
	}
	if _, err := CreateToken(dataDir, "node-1"); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}

	tests := []struct {
		name string
		path string
		want fs.FileMode
	}{
		{name: "data dir", path: dataDir, want: fs.ModeDir | 0o700},
		{name: "pki dir", path: pkiDir(dataDir), want: fs.ModeDir | 0o700},
		{name: "CA certificate", path: pkiPath(dataDir, caCertFile), want: 0o644},
		{name: "CA key", path: pkiPath(dataDir, caKeyFile), want: 0o600},
		{name: "serving certificate", path: pkiPath(dataDir, servingCertFile), want: 0o644},
		{name: "serving key", path: pkiPath(dataDir, servingKeyFile), want: 0o600},
		{name: "admin certificate", path: pkiPath(dataDir, adminCertFile), want: 0o644},
		{name: "admin key", path: pkiPath(dataDir, adminKeyFile), want: 0o600},
		{name: "tokens", path: pkiPath(dataDir, tokensFile), want: 0o600},
		{name: "kubeconfig", path: filepath.Join(dataDir, "admin.kubeconfig"), want: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatalf("stat: %v", err)
			}
			if got := fi.Mode(); got != tt.want {
				t.Errorf("mode of %s = %v; want %v", tt.path, got, tt.want)
			}
		})
	}
}
