package agent

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/svcnet/svcnet/internal/proxy"
)

// recordingPlane is a DataPlane that remembers what it was asked to program.
type recordingPlane struct {
	mu    sync.Mutex
	syncs []planeSync
}

type planeSync struct {
	snap *proxy.Snapshot
	full bool
}

func (p *recordingPlane) Sync(_ context.Context, snap *proxy.Snapshot, full bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.syncs = append(p.syncs, planeSync{snap, full})
	return nil
}

func (p *recordingPlane) last() (planeSync, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.syncs) == 0 {
		return planeSync{}, 0
	}
	return p.syncs[len(p.syncs)-1], len(p.syncs)
}

var _ DataPlane = (*recordingPlane)(nil)

func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAgentRegistersAndSyncs(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}, Spec: corev1.ServiceSpec{
		ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, Type: corev1.ServiceTypeClusterIP,
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	other := svc.DeepCopy()
	other.Name, other.Labels = "other", map[string]string{proxy.LabelServiceProxyName: "someone-else"}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	client := fake.NewClientset(svc, other, slice)
	plane := &recordingPlane{}
	a := New(Config{NodeName: "node-a", PodCIDRs: []string{"10.244.1.0/24"}}, client, []FamilyPlane{{proxy.IPv4, plane}}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	waitFor(t, "first sync is full and has only web", func() error {
		s, n := plane.last()
		if n == 0 {
			return fmt.Errorf("no sync yet")
		}
		plane.mu.Lock()
		first := plane.syncs[0]
		plane.mu.Unlock()
		if !first.full || len(s.snap.Ports) != 1 || s.snap.Ports[0].Name.Name != "web" || len(s.snap.Ports[0].Endpoints) != 0 {
			return fmt.Errorf("sync full=%t ports=%s", s.full, portsOf(s.snap))
		}
		return nil
	})
	node, err := client.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil || node.Spec.PodCIDR != "10.244.1.0/24" || !nodeReady(node) {
		t.Fatalf("node = %+v, %v; want Ready with podCIDR", node, err)
	}
	waitFor(t, "node lease", func() error {
		_, err := client.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, "node-a", metav1.GetOptions{})
		return err
	})

	slice = slice.DeepCopy()
	slice.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	if _, err := client.DiscoveryV1().EndpointSlices("ns").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "incremental sync with the endpoint", func() error {
		s, _ := plane.last()
		if s.full || len(s.snap.Ports) != 1 || len(s.snap.Ports[0].Endpoints) != 1 {
			return fmt.Errorf("sync full=%t ports=%s", s.full, portsOf(s.snap))
		}
		return nil
	})

	rec := httptest.NewRecorder()
	a.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/healthz = %d %s; want 200", rec.Code, rec.Body)
	}
}

func TestHealthStates(t *testing.T) {
	local := &proxy.ServicePort{Name: proxy.PortName{Namespace: "ns", Name: "lb", Port: "a"}, ExternalLocal: true, HealthCheckNodePort: 31000, NodePort: 30000,
		Endpoints: []proxy.Endpoint{{Ready: true, NodeName: "node-a"}, {Ready: true, NodeName: "node-b"}}}
	second := *local
	second.Name.Port = "b"
	second.Endpoints = nil
	cluster := &proxy.ServicePort{Name: proxy.PortName{Namespace: "ns", Name: "c"}, HealthCheckNodePort: 0}
	got := healthStates(&proxy.Snapshot{Ports: []*proxy.ServicePort{local, &second, cluster}}, "node-a")
	if len(got) != 1 || got[31000] != (healthState{namespace: "ns", name: "lb", local: 1}) {
		t.Errorf("health states = %+v", got)
	}
}

func portsOf(s *proxy.Snapshot) string {
	out := ""
	for _, sp := range s.Ports {
		out += fmt.Sprintf("%s(%d endpoints) ", sp.Name, len(sp.Endpoints))
	}
	return out
}

func TestNextFullSync(t *testing.T) {
	tests := []struct {
		name       string
		took, want time.Duration
	}{
		{name: "fast sync keeps the period", took: 300 * time.Millisecond, want: 30 * time.Second},
		{name: "at the limit", took: 3 * time.Second, want: 30 * time.Second},
		{name: "slow sync spaces the next out", took: 8 * time.Second, want: 80 * time.Second},
	}
	for _, tc := range tests {
		if got := nextFullSync(30*time.Second, tc.took); got != tc.want {
			t.Errorf("%s: next full sync after %v = %v; want %v", tc.name, tc.took, got, tc.want)
		}
	}
}

func TestAgentWithoutDataPlaneLabelsItsNode(t *testing.T) {
	existing := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b", Labels: map[string]string{"svcnet.io/dns": "false", "keep": "me"}}}
	client := fake.NewClientset(existing)
	for _, name := range []string{"node-a", "node-b"} {
		a := New(Config{NodeName: name, Labels: map[string]string{"svcnet.io/dns": "true"}}, client, nil, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		waitFor(t, "node labelled", func() error {
			n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if n.Labels["svcnet.io/dns"] != "true" || n.Labels[corev1.LabelHostname] == "" && name == "node-a" {
				return fmt.Errorf("labels %v", n.Labels)
			}
			if name == "node-b" && n.Labels["keep"] != "me" {
				return fmt.Errorf("other labels lost: %v", n.Labels)
			}
			return nil
		})
		if _, ok := a.Healthy(time.Now()); !ok {
			t.Errorf("%s: an agent without a data plane has nothing to fall behind on", name)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// failingPlane is a DataPlane whose syncs fail.
type failingPlane struct{}

func (failingPlane) Sync(context.Context, *proxy.Snapshot, bool) error { return fmt.Errorf("refused") }

// TestAgentSyncsEachFamily runs a dual-stack agent: each family's plane gets
// the snapshots of its family only, and a failing plane of either family makes
// the sync fail (the other still gets its snapshots).
func TestAgentSyncsEachFamily(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}, Spec: corev1.ServiceSpec{
		ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00:10:96::a"}, Type: corev1.ServiceTypeClusterIP,
		IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
		Ports:      []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	slice := func(name string, t discoveryv1.AddressType, addr string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: t,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		}
	}
	tests := []struct {
		name      string
		failing   proxy.Family // the family whose plane fails; 0: none
		wantError bool
	}{
		{name: "both planes sync"},
		{name: "IPv4 plane fails", failing: proxy.IPv4, wantError: true},
		{name: "IPv6 plane fails", failing: proxy.IPv6, wantError: true},
	}
	want := map[proxy.Family]string{proxy.IPv4: "10.96.0.10 10.244.1.2:8080", proxy.IPv6: "fd00:10:96::a [fd00:10:244:1::2]:8080"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(svc, slice("web-4", discoveryv1.AddressTypeIPv4, "10.244.1.2"),
				slice("web-6", discoveryv1.AddressTypeIPv6, "fd00:10:244:1::2"))
			recs := map[proxy.Family]*recordingPlane{}
			var planes []FamilyPlane
			for _, f := range []proxy.Family{proxy.IPv4, proxy.IPv6} {
				recs[f] = &recordingPlane{}
				var p DataPlane = recs[f]
				if f == tc.failing {
					p = failingPlane{}
				}
				planes = append(planes, FamilyPlane{Family: f, Plane: p})
			}
			a := New(Config{NodeName: "node-a"}, client, planes, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			a.factory.Start(ctx.Done())
			// The informers stop when ctx ends; Shutdown waits for them.
			defer func() { cancel(); a.factory.Shutdown() }()
			a.factory.WaitForCacheSync(ctx.Done())
			err := a.sync(ctx, true)
			if (err != nil) != tc.wantError {
				t.Fatalf("sync error = %v; want an error: %t", err, tc.wantError)
			}
			for f, rec := range recs {
				if f == tc.failing {
					continue
				}
				s, n := rec.last()
				if n != 1 || len(s.snap.Ports) != 1 || len(s.snap.Ports[0].Endpoints) != 1 {
					t.Fatalf("IPv%d plane: %d syncs, last %s", f, n, portsOf(s.snap))
				}
				sp := s.snap.Ports[0]
				if got := sp.ClusterIP.String() + " " + sp.Endpoints[0].AddrPort().String(); got != want[f] {
					t.Errorf("IPv%d plane got %s; want %s", f, got, want[f])
				}
			}
		})
	}
}

// unchangedPlaneStub is a recordingPlane that says, as told, whether it still
// holds what its last sync left.
type unchangedPlaneStub struct {
	recordingPlane
	unchanged atomic.Bool
}

func (p *unchangedPlaneStub) Unchanged() bool { return p.unchanged.Load() }

var _ unchangedPlane = (*unchangedPlaneStub)(nil)

func (p *recordingPlane) fullSyncs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.syncs {
		if s.full {
			n++
		}
	}
	return n
}

// TestPeriodicFullSyncSkippedWhileUnchanged runs the sync loop on a fake clock:
// a periodic full sync runs when the plane cannot vouch for its rules, is
// skipped while it can, and runs anyway once an hour has passed without one.
func TestPeriodicFullSyncSkippedWhileUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plane := &unchangedPlaneStub{}
		a := New(Config{NodeName: "node-a", SyncPeriod: 30 * time.Second}, fake.NewClientset(), []FamilyPlane{{proxy.IPv4, plane}}, nil, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.syncLoop(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		steps := []struct {
			name      string
			unchanged bool
			wait      time.Duration
			want      int // full syncs so far
		}{
			{name: "the first sync", wait: 0, want: 1},
			{name: "a period, plane cannot tell", wait: 30 * time.Second, want: 2},
			{name: "five periods, plane unchanged", unchanged: true, wait: 5 * 30 * time.Second, want: 2},
			{name: "a period after a change behind its back", wait: 30 * time.Second, want: 3},
			{name: "an hour less a period, unchanged", unchanged: true, wait: time.Hour - 30*time.Second, want: 3},
			{name: "past the hour, a full sync anyway", unchanged: true, wait: 30 * time.Second, want: 4},
		}
		for _, st := range steps {
			plane.unchanged.Store(st.unchanged)
			time.Sleep(st.wait + time.Millisecond)
			synctest.Wait()
			if got := plane.fullSyncs(); got != st.want {
				t.Fatalf("%s: %d full syncs; want %d", st.name, got, st.want)
			}
			// A skipped full sync found the plane in step: still healthy.
			if last, ok := a.Healthy(time.Now()); !ok {
				t.Fatalf("%s: unhealthy, last sync %v ago", st.name, time.Since(last))
			}
		}
	})
}

// controllerSlice is a slice as svcnet's endpointslice controller writes it:
// owner reference to the Service, a targetRef per endpoint.
func controllerSlice(i, endpoints int) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("svc-%d-abcde", i),
			Labels: map[string]string{discoveryv1.LabelServiceName: fmt.Sprintf("svc-%d", i), discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: fmt.Sprintf("svc-%d", i),
				UID: "7d0c5c2e-8a9d-4c42-9f1e-0d6f1c2b3a4d", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for j := range endpoints {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.244.%d.%d", j, i%250+1)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			NodeName:   ptr.To(fmt.Sprintf("node-%d", j)),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: fmt.Sprintf("svc-%d-7f9c8d6b5-x%dq2z", i, j),
				UID: "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"},
		})
	}
	return s
}

func TestSlimKeepsWhatTheDataPlaneReads(t *testing.T) {
	s := controllerSlice(1, 2)
	want := s.DeepCopy()
	out, err := slim(s)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*discoveryv1.EndpointSlice)
	if got.OwnerReferences != nil || got.Endpoints[0].TargetRef != nil {
		t.Errorf("owner references %v, targetRef %v; want both dropped", got.OwnerReferences, got.Endpoints[0].TargetRef)
	}
	for i := range want.Endpoints {
		want.Endpoints[i].TargetRef = nil
	}
	want.OwnerReferences = nil
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("slim changed more than it drops:\n got %+v\nwant %+v", got, want)
	}
	// What stays is packed: an exact list, shared conditions and node names.
	if len(got.Endpoints) != cap(got.Endpoints) {
		t.Errorf("endpoints len %d cap %d; want no spare room", len(got.Endpoints), cap(got.Endpoints))
	}
	other, _ := slim(controllerSlice(2, 2))
	e0, e1 := got.Endpoints[0], other.(*discoveryv1.EndpointSlice).Endpoints[0]
	if e0.Conditions.Ready != e1.Conditions.Ready || e0.Conditions.Terminating != e1.Conditions.Terminating || e0.NodeName != e1.NodeName {
		t.Errorf("two slices' endpoints on one node do not share condition and node name pointers")
	}
	if *got.Endpoints[1].NodeName != "node-1" || *got.Endpoints[0].Conditions.Terminating {
		t.Errorf("packed endpoint reads node %q terminating %v", *got.Endpoints[1].NodeName, *got.Endpoints[0].Conditions.Terminating)
	}
	// The snapshot of the slimmed slice is the snapshot of the original.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "svc-1"}, Spec: corev1.ServiceSpec{
		ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, Type: corev1.ServiceTypeClusterIP,
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	a := proxy.Build(proxy.IPv4, []*corev1.Service{svc}, []*discoveryv1.EndpointSlice{controllerSlice(1, 2)})
	b := proxy.Build(proxy.IPv4, []*corev1.Service{svc}, []*discoveryv1.EndpointSlice{got})
	if !reflect.DeepEqual(a.Ports, b.Ports) {
		t.Errorf("snapshots differ:\n%s\n%s", portsOf(a), portsOf(b))
	}
}

// BenchmarkSlimRetainedBytes measures what the agent's informer cache keeps per
// EndpointSlice of 10 endpoints as the endpointslice controller writes them,
// decoded from protobuf as client-go does, with and without slim.
func BenchmarkSlimRetainedBytes(b *testing.B) {
	const n = 5000
	codec := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	var raw [][]byte
	for i := range n {
		var buf bytes.Buffer
		if err := codec.Encode(controllerSlice(i, 10), &buf); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, buf.Bytes())
	}
	for _, tc := range []struct {
		name string
		slim bool
	}{{"as decoded", false}, {"slim", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var perSlice float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				kept := make([]any, 0, n)
				for _, r := range raw {
					obj, _, err := codec.Decode(r, nil, &discoveryv1.EndpointSlice{})
					if err != nil {
						b.Fatal(err)
					}
					if tc.slim {
						obj2, _ := slim(obj)
						kept = append(kept, obj2)
					} else {
						kept = append(kept, obj)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perSlice = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(kept)
			}
			b.ReportMetric(perSlice, "B/slice-retained")
		})
	}
}
