package endpoints

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRun drives the whole controller through the fake API: informers, Pod change
// mapping, batching and the workers.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		client := fake.NewClientset()
		factory := informers.NewSharedInformerFactory(client, 0)
		c := New(client, factory, Options{BatchPeriod: time.Second})
		factory.Start(ctx.Done())
		done := make(chan error)
		go func() { done <- c.Run(ctx, 2) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
			factory.Shutdown()
		}()

		endpointWrites := func() (n int) {
			for _, w := range writes(client) {
				if w == "create endpoints" || w == "update endpoints" || w == "delete endpoints" {
					n++
				}
			}
			return n
		}
		mustCreate := func(obj any) {
			t.Helper()
			var err error
			switch o := obj.(type) {
			case *corev1.Service:
				_, err = client.CoreV1().Services(ns).Create(ctx, o, metav1.CreateOptions{})
			case *corev1.Pod:
				_, err = client.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}

		mustCreate(service("web"))
		time.Sleep(time.Second) // cache sync polls every 100ms
		synctest.Wait()
		if ep := getEndpoints(t, client, "web"); ep == nil || len(ep.Subsets) != 0 {
			t.Fatalf("endpoints after service create = %v; want an empty object", ep)
		}

		// Three Pods within one batch period cost one write.
		for _, p := range []*corev1.Pod{pod("a", "web", "10.0.0.1"), pod("b", "web", "10.0.0.2"), pod("c", "web", "10.0.0.3", notReady)} {
			mustCreate(p)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		ep := getEndpoints(t, client, "web")
		if ready, notReady := countAddresses(ep.Subsets); ready != 2 || notReady != 1 {
			t.Errorf("addresses = %d ready, %d not ready; want 2, 1", ready, notReady)
		}
		if n := endpointWrites(); n != 2 {
			t.Errorf("endpoints writes = %d; want 2 (create, one batched update): %v", n, writes(client))
		}

		// A Pod relabelled away from the Service leaves it.
		b := pod("b", "web", "10.0.0.2")
		b.Labels = map[string]string{"app": "other"}
		if _, err := client.CoreV1().Pods(ns).Update(ctx, b, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if ready, _ := countAddresses(getEndpoints(t, client, "web").Subsets); ready != 1 {
			t.Errorf("ready addresses after relabel = %d; want 1", ready)
		}

		if err := client.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if ep := getEndpoints(t, client, "web"); ep != nil {
			t.Errorf("endpoints after service delete = %v; want none", ep)
		}
	})
}
