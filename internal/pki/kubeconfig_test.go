package pki

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestWriteKubeconfig(t *testing.T) {
	b, err := Ensure(Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "admin.kubeconfig")
	tests := []struct {
		name   string
		server string
	}{
		{name: "first write creates the file", server: "https://127.0.0.1:0"},
		{name: "rewrite after binding replaces the server", server: "https://127.0.0.1:43121"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteKubeconfig(path, tt.server, b.CAPEM, b.AdminCertPEM, b.AdminKeyPEM); err != nil {
				t.Fatalf("WriteKubeconfig: %v", err)
			}
			cfg, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatalf("LoadFromFile: %v", err)
			}
			if cfg.CurrentContext != "svcnet" {
				t.Errorf("current-context = %q; want svcnet", cfg.CurrentContext)
			}
			ctx, ok := cfg.Contexts["svcnet"]
			if !ok || ctx.Cluster != "svcnet" || ctx.AuthInfo != "svcnet" {
				t.Fatalf("context svcnet = %+v; want cluster and user svcnet", ctx)
			}
			cluster, user := cfg.Clusters["svcnet"], cfg.AuthInfos["svcnet"]
			if cluster == nil || user == nil {
				t.Fatalf("cluster = %v, user = %v; want both named svcnet", cluster, user)
			}
			if cluster.Server != tt.server {
				t.Errorf("server = %q; want %q", cluster.Server, tt.server)
			}
			if !bytes.Equal(cluster.CertificateAuthorityData, b.CAPEM) ||
				!bytes.Equal(user.ClientCertificateData, b.AdminCertPEM) ||
				!bytes.Equal(user.ClientKeyData, b.AdminKeyPEM) {
				t.Errorf("embedded credentials differ from the bundle")
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "admin.kubeconfig" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v; want only admin.kubeconfig (no temporary files)", names)
			}
		})
	}
}
