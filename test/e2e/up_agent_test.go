package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// TestUpRunsAnAgent runs `svcnet up` inside a network namespace standing for a
// whole machine, with a pod namespace behind it: up registers the machine as a
// Node and programs its data plane, so the Service created with kubectl carries
// traffic to the pod.
func TestUpRunsAnAgent(t *testing.T) {
	netnstest.RequireRoot(t)
	machine := netnstest.New(t, "up")
	pod := netnstest.New(t, "uppod")
	netnstest.Link(t, machine, "cni0", "10.244.0.1/24", pod, "eth0", "10.244.0.10/24")
	pod.Run("ip", "route", "add", "default", "via", "10.244.0.1")
	machine.Sysctl("net.ipv4.ip_forward", "1")
	// The machine's default route leads out of it, as a real machine's does.
	uplink := netnstest.New(t, "upl")
	netnstest.Link(t, machine, "eth0", "10.250.2.1/24", uplink, "eth0", "10.250.2.2/24")
	machine.Run("ip", "route", "add", "default", "via", "10.250.2.2")
	l, err := pod.Listen("tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go netnstest.ServeEcho(l, "pod")

	data := t.TempDir()
	logs := &syncBuffer{}
	cmd := machine.Command(context.Background(), binary, "up", "--data-dir", data, "--bind-address", "0.0.0.0",
		"--advertise-address", "10.250.2.1", "--secure-port", "6443",
		"--node-name", "machine", "--node-ip", "10.250.2.1", "--cluster-cidr", "10.244.0.0/16")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopGroup(cmd, 10*time.Second)
		if t.Failed() {
			t.Logf("svcnet up logs:\n%s", logs.String())
		}
	})
	kubeconfig := filepath.Join(data, "admin.kubeconfig")
	kubectl := func(stdin string, args ...string) (string, error) {
		c := machine.Command(context.Background(), append([]string{binary, "kubectl", "--kubeconfig", kubeconfig}, args...)...)
		c.Env = append(os.Environ(), "HOME="+t.TempDir())
		c.Stdin = strings.NewReader(stdin)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	eventually(t, 60*time.Second, func() error {
		out, err := kubectl("", "get", "node", "machine", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
		if err != nil || out != "True" {
			return fmt.Errorf("node machine not ready: %v %s", err, out)
		}
		return nil
	})
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: echo
  labels: {app: echo}
spec:
  nodeName: machine
  containers: [{name: echo, image: svcnet-echo}]
---
apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 8080}]
`
	if out, err := kubectl(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v: %s", err, out)
	}
	status := `{"status":{"phase":"Running","podIP":"10.244.0.10","podIPs":[{"ip":"10.244.0.10"}],"conditions":[{"type":"Ready","status":"True"}]}}`
	if out, err := kubectl("", "patch", "pod", "echo", "--subresource=status", "--type=merge", "-p", status); err != nil {
		t.Fatalf("patch status: %v: %s", err, out)
	}
	ip, err := kubectl("", "get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil {
		t.Fatalf("get svc: %v: %s", err, ip)
	}
	got := reach(t, machine, "tcp", net.JoinHostPort(ip, "80"))
	if got.Name != "pod" {
		t.Errorf("answer from %q; want the pod", got.Name)
	}

	// The pod reaches the API server through the kubernetes Service, whose
	// Endpoints list the server's advertise address.
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return pod.Dial(ctx, &net.Dialer{}, network, addr)
		},
	}}
	defer hc.CloseIdleConnections()
	eventually(t, 20*time.Second, func() error {
		resp, err := hc.Get("https://10.96.0.1:443/livez")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "ok" {
			return fmt.Errorf("GET /livez through the kubernetes Service: %d %q", resp.StatusCode, body)
		}
		return nil
	})
}
