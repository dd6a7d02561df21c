package mirroring

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestRun drives the whole controller through the fake API: informers, event
// filters, expectations and the workers.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		client := newClient()
		factory := informers.NewSharedInformerFactory(client, 0)
		c := New(client, factory, Options{})
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
		settle := func() {
			time.Sleep(time.Second) // cache sync polls every 100ms
			synctest.Wait()
		}
		count := func(verb string) (n int) {
			for _, a := range client.Actions() {
				if a.GetVerb() == verb && a.GetResource().Resource == "endpointslices" {
					n++
				}
			}
			return n
		}

		objs := seed(t)
		svc, ep := objs[0].(*corev1.Service), objs[1].(*corev1.Endpoints)
		if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		settle()
		if ss := storedSlices(t, client); len(ss) != 1 || len(ss[0].Endpoints) != 1 || ss[0].Endpoints[0].Addresses[0] != "1.2.3.4" {
			t.Fatalf("slices after seed = %+v; want one with 1.2.3.4", ss)
		}

		ep.Subsets[0].Addresses = append(ep.Subsets[0].Addresses, corev1.EndpointAddress{IP: "1.2.3.5"})
		if _, err := client.CoreV1().Endpoints(ns).Update(ctx, ep, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		settle()
		if ss := storedSlices(t, client); len(ss) != 1 || len(ss[0].Endpoints) != 2 {
			t.Fatalf("slices after adding an address = %+v; want one with two endpoints", ss)
		}
		if c, u := count("create"), count("update"); c != 1 || u != 1 {
			t.Errorf("creates, updates = %d, %d; want 1, 1", c, u)
		}

		svc.Spec.Selector = map[string]string{"app": "my-service"}
		if _, err := client.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		settle()
		if ss := storedSlices(t, client); len(ss) != 0 {
			t.Errorf("slices after the Service gained a selector = %+v; want none", ss)
		}
		if d := count("delete"); d != 1 {
			t.Errorf("deletes = %d; want 1", d)
		}
	})
}
