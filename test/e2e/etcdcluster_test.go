package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// etcdCluster is a three-member etcd cluster from Debian's etcd-server package,
// on loopback ports.
type etcdCluster struct {
	clientURLs []string
	procs      []*exec.Cmd
}

func startEtcdCluster(t *testing.T) *etcdCluster {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed (Debian package etcd-server; `make test` installs it)")
	}
	c := &etcdCluster{}
	var peers []string
	type member struct{ name, client, peer string }
	var members []member
	for i := range 3 {
		m := member{name: fmt.Sprintf("m%d", i), client: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)), peer: fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}
		members = append(members, m)
		peers = append(peers, m.name+"="+m.peer)
		c.clientURLs = append(c.clientURLs, m.client)
	}
	for _, m := range members {
		cmd := exec.Command(bin,
			"--name", m.name, "--data-dir", t.TempDir(),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(peers, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "svcnet-e2e", "--log-level", "error", "--logger", "zap")
		cmd.Env = append(os.Environ(), "ETCD_UNSUPPORTED_ARCH=")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start etcd: %v", err)
		}
		c.procs = append(c.procs, cmd)
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				_ = cmd.Wait()
			}
		})
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.clientURLs, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	eventually(t, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cli.Put(ctx, "/probe", "x")
		return err
	})
	return c
}

// TestExternalEtcdTwoServers runs two API servers on one three-member etcd cluster
// and creates NodePort Services through both at once: no value is handed out twice,
// each server sees the other's writes, and the cluster survives losing a member.
func TestExternalEtcdTwoServers(t *testing.T) {
	ec := startEtcdCluster(t)
	etcdFlag := strings.Join(ec.clientURLs, ",")
	a := startServer(t, "server", "--etcd-servers", etcdFlag)
	b := startServer(t, "server", "--etcd-servers", etcdFlag)
	ctx := context.Background()
	clients := []*server{a, b}
	const perServer = 300
	var wg sync.WaitGroup
	errs := make(chan error, 2*perServer)
	for si, s := range clients {
		cs := s.client()
		for i := range perServer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := newService(fmt.Sprintf("s%d-%03d", si, i))
				svc.Spec.Type = corev1.ServiceTypeNodePort
				if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("create: %v", err)
	}
	list, err := b.client().CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkUnique(t, list.Items, 2*perServer+1)

	// Losing one member keeps quorum: writes go on.
	_ = syscall.Kill(-ec.procs[0].Process.Pid, syscall.SIGKILL)
	_ = ec.procs[0].Wait()
	eventually(t, 30*time.Second, func() error {
		_, err := a.client().CoreV1().Services("default").Create(ctx, newService("after-member-loss"), metav1.CreateOptions{})
		return err
	})
	// The health endpoints are open: one anonymous client for every poll.
	hc := a.anonymous()
	t.Cleanup(hc.CloseIdleConnections)
	health := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(a.url() + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := health("/readyz?verbose"); code != 200 || !strings.Contains(body, "[+]etcd ok") {
		t.Errorf("/readyz?verbose with quorum: %d %q", code, body)
	}

	// Losing a second member loses quorum: /livez and /readyz say so.
	_ = syscall.Kill(-ec.procs[1].Process.Pid, syscall.SIGKILL)
	_ = ec.procs[1].Wait()
	for _, p := range []string{"/livez", "/readyz"} {
		eventually(t, 30*time.Second, func() error {
			if code, body := health(p); code != 500 || !strings.Contains(body, "[-]etcd failed: reason withheld") {
				return fmt.Errorf("%s without quorum: %d %q", p, code, body)
			}
			return nil
		})
	}
}
