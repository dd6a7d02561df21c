package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

func envTestNamespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func envTestService(ns, name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: clusterIP, Ports: ports},
	}
}

// envTestCluster is the default and app namespaces with the kubernetes Service,
// the documentation's redis-master, and app Services of every kind.
func envTestCluster() []runtime.Object {
	return []runtime.Object{
		envTestNamespace("default"),
		envTestNamespace("app"),
		envTestService("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
		envTestService("default", "redis-master", "10.0.0.11", corev1.ServicePort{Port: 6379, Protocol: corev1.ProtocolTCP}),
		envTestService("app", "dns", "10.0.1.10", corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}),
		envTestService("app", "db", corev1.ClusterIPNone, corev1.ServicePort{Port: 5432}),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "ext"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
		},
	}
}

const kubernetesVars = `KUBERNETES_SERVICE_HOST=10.96.0.1
KUBERNETES_SERVICE_PORT=443
KUBERNETES_SERVICE_PORT_HTTPS=443
KUBERNETES_PORT=tcp://10.96.0.1:443
KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443
KUBERNETES_PORT_443_TCP_PROTO=tcp
KUBERNETES_PORT_443_TCP_PORT=443
KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1
`

const redisMasterVars = `REDIS_MASTER_SERVICE_HOST=10.0.0.11
REDIS_MASTER_SERVICE_PORT=6379
REDIS_MASTER_PORT=tcp://10.0.0.11:6379
REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379
REDIS_MASTER_PORT_6379_TCP_PROTO=tcp
REDIS_MASTER_PORT_6379_TCP_PORT=6379
REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11
`

const dnsVars = `DNS_SERVICE_HOST=10.0.1.10
DNS_SERVICE_PORT=53
DNS_SERVICE_PORT_DNS=53
DNS_PORT=udp://10.0.1.10:53
DNS_PORT_53_UDP=udp://10.0.1.10:53
DNS_PORT_53_UDP_PROTO=udp
DNS_PORT_53_UDP_PORT=53
DNS_PORT_53_UDP_ADDR=10.0.1.10
`

func TestEnvCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noLinks := write("nolinks.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  enableServiceLinks: false\n  containers:\n  - name: c\n    image: busybox\n")
	inApp := write("app.json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"app"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`)
	deployment := write("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n")
	empty := write("empty.yaml", "")

	tests := []struct {
		name    string
		args    []string
		stdin   string
		objects []runtime.Object
		want    string
		wantErr string
	}{
		{
			name:    "default namespace: kubernetes then redis-master",
			args:    nil,
			objects: envTestCluster(),
			want:    kubernetesVars + redisMasterVars,
		},
		{
			name:    "other namespace skips headless and ExternalName",
			args:    []string{"-n", "app"},
			objects: envTestCluster(),
			want:    dnsVars + kubernetesVars,
		},
		{
			name:    "pod with enableServiceLinks false gets kubernetes only",
			args:    []string{"-n", "default", "-f", noLinks},
			objects: envTestCluster(),
			want:    kubernetesVars,
		},
		{
			name:    "namespace taken from the pod file",
			args:    []string{"-f", inApp},
			objects: envTestCluster(),
			want:    dnsVars + kubernetesVars,
		},
		{
			name:    "pod from stdin",
			args:    []string{"-f", "-", "-n", "app"},
			stdin:   "kind: Pod\nspec:\n  enableServiceLinks: false\n",
			objects: envTestCluster(),
			want:    kubernetesVars,
		},
		{
			name:    "no kubernetes service yet",
			args:    []string{"-n", "app"},
			objects: []runtime.Object{envTestNamespace("app"), envTestService("app", "dns", "10.0.1.10", corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP})},
			want:    dnsVars,
		},
		{
			name:    "empty namespace prints nothing",
			args:    []string{"-n", "app"},
			objects: []runtime.Object{envTestNamespace("app")},
			want:    "",
		},
		{
			name:    "unknown namespace",
			args:    []string{"-n", "nope"},
			objects: envTestCluster(),
			wantErr: `get namespace nope: namespaces "nope" not found`,
		},
		{
			name:    "pod file namespace conflicts with -n",
			args:    []string{"-n", "default", "-f", inApp},
			objects: envTestCluster(),
			wantErr: `does not match -n "default"`,
		},
		{
			name:    "not a pod",
			args:    []string{"-f", deployment},
			objects: envTestCluster(),
			wantErr: `kind "Deployment" is not a Pod`,
		},
		{
			name:    "empty pod file",
			args:    []string{"-f", empty},
			objects: envTestCluster(),
			wantErr: "no object in it",
		},
		{
			name:    "missing pod file",
			args:    []string{"-f", filepath.Join(dir, "missing.yaml")},
			objects: envTestCluster(),
			wantErr: "no such file or directory",
		},
		{
			name:    "unknown output format",
			args:    []string{"-o", "yaml"},
			objects: envTestCluster(),
			wantErr: `unknown output format "yaml" (want env or json)`,
		},
		{
			name:    "positional arguments are refused",
			args:    []string{"app"},
			objects: envTestCluster(),
			wantErr: "unknown command",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			cmd := newEnvCommandWith(func(string) (kubernetes.Interface, error) { return client, nil })
			var out, errOut bytes.Buffer
			cmd.SetArgs(tt.args)
			cmd.SetIn(strings.NewReader(tt.stdin))
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("env %v: error %v; want one containing %q", tt.args, err, tt.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("env %v: printed %q on error; want nothing", tt.args, out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("env %v: %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("env %v output mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestEnvCommandJSON(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		objects []runtime.Object
		want    []corev1.EnvVar
	}{
		{
			name:    "list of name and value in output order",
			args:    []string{"-o", "json"},
			objects: envTestCluster(),
			want:    parseEnvLines(t, kubernetesVars+redisMasterVars),
		},
		{
			name:    "empty list, not null",
			args:    []string{"-o", "json", "-n", "app"},
			objects: []runtime.Object{envTestNamespace("app")},
			want:    []corev1.EnvVar{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objects...)
			cmd := newEnvCommandWith(func(string) (kubernetes.Interface, error) { return client, nil })
			var out bytes.Buffer
			cmd.SetArgs(tt.args)
			cmd.SetOut(&out)
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatalf("env %v: %v", tt.args, err)
			}
			var got []corev1.EnvVar
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("env %v printed %q: %v", tt.args, out.String(), err)
			}
			if got == nil {
				t.Fatalf("env %v printed %q; want a JSON list", tt.args, out.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("env %v mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func parseEnvLines(t *testing.T, s string) []corev1.EnvVar {
	t.Helper()
	var vars []corev1.EnvVar
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad env line %q", line)
		}
		vars = append(vars, corev1.EnvVar{Name: name, Value: value})
	}
	return vars
}

func TestEnvCommandKubeconfig(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		factoryErr error
		wantPath   string
		wantErr    string
	}{
		{name: "flag value reaches the factory", args: []string{"--kubeconfig", "/tmp/k.conf"}, wantPath: "/tmp/k.conf"},
		{name: "no flag: empty, resolved by the factory", args: nil, wantPath: ""},
		{name: "factory error is returned", args: nil, factoryErr: errors.New("load kubeconfig: boom"), wantErr: "load kubeconfig: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath string
			cmd := newEnvCommandWith(func(p string) (kubernetes.Interface, error) {
				gotPath = p
				if tt.factoryErr != nil {
					return nil, tt.factoryErr
				}
				return fake.NewClientset(envTestCluster()...), nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gotPath != tt.wantPath {
				t.Errorf("factory got kubeconfig %q; want %q", gotPath, tt.wantPath)
			}
		})
	}
}

func TestClientKubeconfig(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{name: "default data dir", want: "/var/lib/svcnet/admin.kubeconfig"},
		{name: "SVCNET_DATA_DIR", env: map[string]string{"SVCNET_DATA_DIR": "/srv/svcnet"}, want: "/srv/svcnet/admin.kubeconfig"},
		{name: "KUBECONFIG left to client-go", env: map[string]string{"KUBECONFIG": "/a:/b", "SVCNET_DATA_DIR": "/srv/svcnet"}, want: ""},
		{name: "flag wins", flag: "/k.conf", env: map[string]string{"KUBECONFIG": "/a", "SVCNET_DATA_DIR": "/srv/svcnet"}, want: "/k.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clientKubeconfig(tt.flag, func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("clientKubeconfig(%q) = %q; want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestClientForKubeconfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	_, err := clientForKubeconfig(path)
	if err == nil || !strings.Contains(err.Error(), "load kubeconfig") {
		t.Fatalf("clientForKubeconfig(%q) error = %v; want a load kubeconfig error", path, err)
	}
}
