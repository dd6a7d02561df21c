package endpointslice

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
)

// TestRun drives the whole controller: informers over a fake clientset, event
// handlers, workers. The fake clientset does not fill generateName, UIDs or
// resourceVersions, so a reactor does, then lets the object tracker store the
// slice and tell the watchers.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := fake.NewClientset(objects(nodes(), list(service("web"), pod("web-1", "web", "10.0.0.1")))...)
		rv, names := 100, 0
		client.PrependReactor("*", "endpointslices", func(action k8stesting.Action) (bool, runtime.Object, error) {
			if v := action.GetVerb(); v != "create" && v != "update" {
				return false, nil, nil
			}
			s := action.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice)
			if s.Name == "" {
				names++
				s.Name = fmt.Sprintf("%s%05d", s.GenerateName, names)
				s.UID = types.UID("uid-" + s.Name)
			}
			rv++
			s.ResourceVersion = fmt.Sprint(rv)
			return false, nil, nil
		})
		reg := prometheus.NewPedanticRegistry()
		factory := informers.NewSharedInformerFactory(client, 0)
		c := New(client, factory, Options{Registerer: reg})
		ctx, cancel := context.WithCancel(t.Context())
		factory.Start(ctx.Done())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx, 2) }()

		settle := func() {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		slicesOf := func() []discoveryv1.EndpointSlice {
			l, err := client.DiscoveryV1().EndpointSlices(testNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return l.Items
		}
		sliceWrites := func() int {
			n := 0
			for _, a := range client.Actions() {
				if a.GetResource().Resource == "endpointslices" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
					n++
				}
			}
			return n
		}

		settle()
		got := slicesOf()
		if len(got) != 1 || describe(&got[0]) != "IPv4 [http:8080/TCP] web-1=10.0.0.1:RS" {
			t.Fatalf("slices after start = %+v, want one with web-1 ready", got)
		}
		if w := sliceWrites(); w != 1 {
			t.Errorf("writes after start = %d, want 1", w)
		}

		// A readiness flip: one update, and our own update's event wakes nothing.
		p, err := client.CoreV1().Pods(testNS).Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		notReady(p)
		p.ResourceVersion = "2"
		if _, err := client.CoreV1().Pods(testNS).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		settle()
		got = slicesOf()
		if len(got) != 1 || describe(&got[0]) != "IPv4 [http:8080/TCP] web-1=10.0.0.1:" {
			t.Fatalf("slices after readiness flip = %+v, want web-1 not ready", got)
		}
		if w := sliceWrites(); w != 2 {
			t.Errorf("writes after readiness flip = %d, want 2", w)
		}

		// A slice deleted behind the controller's back is repaired.
		if err := client.DiscoveryV1().EndpointSlices(testNS).Delete(ctx, got[0].Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		settle()
		got = slicesOf()
		if len(got) != 1 || describe(&got[0]) != "IPv4 [http:8080/TCP] web-1=10.0.0.1:" {
			t.Fatalf("slices after deletion = %+v, want web-1 back", got)
		}

		if got, want := counter(t, reg, "svcnet_endpointslice_changes_total", "create"), 2.0; got != want {
			t.Errorf("svcnet_endpointslice_changes_total{operation=create} = %v, want %v", got, want)
		}
		if got := counter(t, reg, "svcnet_endpointslice_syncs_total", resultSuccess); got < 3 {
			t.Errorf("svcnet_endpointslice_syncs_total{result=success} = %v, want at least 3", got)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		factory.Shutdown()
	})
}

func TestFailedSyncIsRetriedWithEvent(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	h := newHarness(t, Options{Recorder: rec}, objects(nodes(), list(service("web"),
		pod("web-1", "web", "10.0.0.1", onNode("node-missing"))))...)
	h.c.queue.Add("ns/web")
	if !h.c.processNext(t.Context()) {
		t.Fatal("processNext returned false")
	}
	if got := h.c.queue.NumRequeues("ns/web"); got != 1 {
		t.Errorf("requeues = %d, want 1", got)
	}
	select {
	case ev := <-rec.Events:
		if !strings.HasPrefix(ev, corev1.EventTypeWarning+" FailedToUpdateEndpointSlices") {
			t.Errorf("event = %q, want a FailedToUpdateEndpointSlices warning", ev)
		}
	default:
		t.Error("no event recorded")
	}
	// The placeholder was still written.
	if got, want := h.summary("web"), []string{"IPv4 [] "}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("slices = %q, want %q", got, want)
	}
	h.c.queue.ShutDown()
}

// counter returns the value of the series of a counter vector whose only label
// has the given value.
func counter(t *testing.T, reg prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
