package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceEnv runs `svcnet env` against a live server with the seed's
// redis-master example: the seven documented variables, plus the kubernetes
// Service's, and none for headless or ExternalName Services or with links off.
func TestServiceEnv(t *testing.T) {
	s := startServer(t, "--service-cluster-ip-range", "10.0.0.0/24")
	s.mustKubectl("", "create", "namespace", "shop")
	s.mustKubectl(`apiVersion: v1
kind: Service
metadata: {name: redis-master, namespace: shop}
spec:
  clusterIP: 10.0.0.11
  selector: {app: redis}
  ports: [{port: 6379}]
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: shop}
spec:
  clusterIP: None
  selector: {app: x}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec:
  type: ExternalName
  externalName: example.org
`, "apply", "-f", "-")
	r := s.run(binary, []string{"env", "-n", "shop", "--kubeconfig", s.kubeconfig}, "")
	if r.code != 0 {
		t.Fatalf("svcnet env: exit %d: %s", r.code, r.stderr)
	}
	var redis []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if strings.HasPrefix(line, "REDIS_MASTER_") {
			redis = append(redis, line)
		}
		if strings.HasPrefix(line, "HEADLESS_") || strings.HasPrefix(line, "EXT_") {
			t.Errorf("variable for a Service without ClusterIP: %s", line)
		}
	}
	want := []string{
		"REDIS_MASTER_SERVICE_HOST=10.0.0.11",
		"REDIS_MASTER_SERVICE_PORT=6379",
		"REDIS_MASTER_PORT=tcp://10.0.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP_PROTO=tcp",
		"REDIS_MASTER_PORT_6379_TCP_PORT=6379",
		"REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11",
	}
	if strings.Join(redis, "\n") != strings.Join(want, "\n") {
		t.Errorf("redis-master variables:\n%s\nwant:\n%s", strings.Join(redis, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.stdout, "KUBERNETES_SERVICE_HOST=10.0.0.1\n") {
		t.Errorf("kubernetes Service variables missing:\n%s", r.stdout)
	}

	pod := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(pod, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  enableServiceLinks: false\n  containers: [{name: c, image: busybox}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.run(binary, []string{"env", "-n", "shop", "-f", pod, "--kubeconfig", s.kubeconfig}, "")
	if r.code != 0 || strings.Contains(r.stdout, "REDIS_MASTER") || !strings.Contains(r.stdout, "KUBERNETES_SERVICE_HOST=") {
		t.Errorf("enableServiceLinks=false: exit %d stdout %q; want only the kubernetes variables", r.code, r.stdout)
	}
	r = s.run(binary, []string{"env", "-n", "nope", "--kubeconfig", s.kubeconfig}, "")
	if r.code == 0 || !strings.Contains(r.stderr, "nope") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("missing namespace: exit %d stderr %q; want one-line error", r.code, r.stderr)
	}
}
