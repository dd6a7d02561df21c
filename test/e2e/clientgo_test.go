package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

func newService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": "informer"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

// cacheNames returns the sorted names in an informer's store.
func storeHas(store cache.Store, ns, name string) bool {
	_, ok, _ := store.GetByKey(ns + "/" + name)
	return ok
}

// TestInformersAcrossRestart runs JSON and protobuf informers (client-go's default
// streaming watch-list first) while the server restarts, and checks they stay in sync.
func TestInformersAcrossRestart(t *testing.T) {
	s := startServer(t)
	for _, ct := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		t.Run(ct, func(t *testing.T) {
			cfg := s.restConfig()
			cfg.ContentType = ct
			cfg.AcceptContentTypes = ct
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := informers.NewSharedInformerFactory(cs, 0)
			inf := f.Core().V1().Services().Informer()
			f.Start(ctx.Done())
			if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				t.Fatal("informer never synced")
			}
			name := "inf-" + map[string]string{"application/json": "json", "application/vnd.kubernetes.protobuf": "proto"}[ct]
			if _, err := cs.CoreV1().Services("default").Create(ctx, newService(name), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, func() error {
				if !storeHas(inf.GetStore(), "default", name) {
					return fmt.Errorf("created service not in informer cache")
				}
				return nil
			})
		})
	}
}

// TestRestartPersistence checks that a second start reuses certificates, data and
// allocations, and that informers resync across the restart.
func TestRestartPersistence(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cs := s.client()
	svc, err := cs.CoreV1().Services("default").Create(ctx, newService("persist"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := informers.NewSharedInformerFactory(s.client(), 0)
	inf := f.Core().V1().Services().Informer()
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.Start(ictx.Done())
	cache.WaitForCacheSync(ictx.Done(), inf.HasSynced)

	s.stop()
	s.start()
	cs = s.client()
	got, err := cs.CoreV1().Services("default").Get(ctx, "persist", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service lost across restart: %v", err)
	}
	if got.Spec.ClusterIP != svc.Spec.ClusterIP || got.UID != svc.UID {
		t.Errorf("after restart clusterIP/uid = %s/%s; want %s/%s", got.Spec.ClusterIP, got.UID, svc.Spec.ClusterIP, svc.UID)
	}
	// The allocation survived: the same IP cannot be taken again.
	dup := newService("dup")
	dup.Spec.ClusterIP = svc.Spec.ClusterIP
	if _, err := cs.CoreV1().Services("default").Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("creating a service on an allocated IP after restart: err = %v; want Invalid", err)
	}
	// The informer started before the restart sees changes made after it.
	if _, err := cs.CoreV1().Services("default").Create(ctx, newService("after-restart"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Services("default").Delete(ctx, "persist", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if !storeHas(inf.GetStore(), "default", "after-restart") || storeHas(inf.GetStore(), "default", "persist") {
			return fmt.Errorf("informer not in sync after restart")
		}
		return nil
	})
}

// TestWatchSemantics checks resourceVersion handling: events strictly after a
// version, bookmarks, and 410 Expired after compaction followed by a relist.
func TestWatchSemantics(t *testing.T) {
	s := startServer(t, "--watch-bookmark-interval", "200ms")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := s.client()
	list, err := cs.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cs.CoreV1().Services("default").Create(ctx, newService("w1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sawAdd, sawBookmark := false, false
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added:
			if ev.Object.(*corev1.Service).Name == "w1" {
				sawAdd = true
			} else {
				t.Errorf("unexpected ADDED %s (watch from a resourceVersion must not replay)", ev.Object.(*corev1.Service).Name)
			}
		case watch.Bookmark:
			sawBookmark = true
		}
		if sawAdd && sawBookmark {
			break
		}
	}
	if !sawAdd || !sawBookmark {
		t.Fatalf("added=%v bookmark=%v; want both", sawAdd, sawBookmark)
	}

	// Compact etcd past the list's revision (two writes later, since etcd keeps the
	// compaction revision itself): a watch from it must get 410 Expired.
	if _, err := cs.CoreV1().Services("default").Create(ctx, newService("w2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	etcdCompact(t, s)
	w2, err := cs.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err == nil {
		ev := <-w2.ResultChan()
		w2.Stop()
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
			t.Errorf("watch from compacted version: %v %+v; want ERROR 410 Expired", ev.Type, ev.Object)
		}
	} else if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Errorf("watch from compacted version: %v; want 410", err)
	}
}

// etcdCompact compacts the server's embedded etcd to its current revision through
// the API server's own compaction: it is simplest to talk to etcd's unix socket.
func etcdCompact(t *testing.T, s *server) {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"unix://" + s.dataDir + "/etcd/client.sock"}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	resp, err := c.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentAllocation creates 1,000 NodePort Services at once and checks that
// no ClusterIP or NodePort is handed out twice.
func TestConcurrentAllocation(t *testing.T) {
	s := startServer(t)
	cs := s.client()
	ctx := context.Background()
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			svc := newService(fmt.Sprintf("c-%04d", i))
			svc.Spec.Type = corev1.ServiceTypeNodePort
			if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("create: %v", err)
	}
	list, err := cs.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkUnique(t, list.Items, n+1)
}

func checkUnique(t *testing.T, items []corev1.Service, want int) {
	t.Helper()
	if len(items) != want {
		t.Errorf("services = %d; want %d", len(items), want)
	}
	ips, ports := map[string]string{}, map[int32]string{}
	for _, svc := range items {
		if prev, ok := ips[svc.Spec.ClusterIP]; ok {
			t.Errorf("clusterIP %s given to %s and %s", svc.Spec.ClusterIP, prev, svc.Name)
		}
		ips[svc.Spec.ClusterIP] = svc.Name
		for _, p := range svc.Spec.Ports {
			if p.NodePort == 0 {
				continue
			}
			if prev, ok := ports[p.NodePort]; ok {
				t.Errorf("nodePort %d given to %s and %s", p.NodePort, prev, svc.Name)
			}
			ports[p.NodePort] = svc.Name
		}
	}
}
