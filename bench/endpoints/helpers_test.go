package main

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// These cover the benchmark's pure helpers only; the benchmark itself is a program,
// not a test.

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "single", sorted: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "p50 of ten", sorted: ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), p: 50, want: 5 * time.Millisecond},
		{name: "p99 of ten is the max", sorted: ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), p: 99, want: 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestPodIPUnique(t *testing.T) {
	seen := map[string]int{}
	for _, g := range []int{0, 1, 255, 256, 65535, 65536, 100000, maxPods - 1} {
		ip := podIP(g)
		if prev, ok := seen[ip]; ok {
			t.Fatalf("podIP(%d) = podIP(%d) = %s", g, prev, ip)
		}
		seen[ip] = g
	}
	if got := podIP(65536 + 258); got != "10.65.1.2" {
		t.Errorf("podIP(65794) = %s, want 10.65.1.2", got)
	}
	if got := podIP(maxPods - 1); got != "10.127.255.255" {
		t.Errorf("podIP(max) = %s, want 10.127.255.255", got)
	}
}

func TestLayout(t *testing.T) {
	l := layout{services: 12, pods: 100, namespaces: 10, nodes: 3}
	p := l.pod(1105)
	if p.Name != "s-00011-005" || p.Namespace != "bench-01" || p.Labels["app"] != "s-00011" || p.Spec.NodeName != "bench-node-001" {
		t.Errorf("pod(1105) = %s/%s app=%s node=%s", p.Namespace, p.Name, p.Labels["app"], p.Spec.NodeName)
	}
	if s := l.service(11); s.Namespace != p.Namespace || s.Spec.Selector["app"] != p.Labels["app"] {
		t.Errorf("service(11) %s/%s selects %v; want the pod's", s.Namespace, s.Name, s.Spec.Selector)
	}
	if got := serviceOf(l, 1105); got != "bench-01/s-00011" {
		t.Errorf("serviceOf = %s", got)
	}
}

func TestSliceShows(t *testing.T) {
	yes, no := true, false
	s := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{
		{Addresses: []string{"10.64.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &yes}},
		{Addresses: []string{"10.64.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: &no}},
		{Addresses: []string{"10.64.0.3"}},
	}}
	tests := []struct {
		ip    string
		ready bool
		want  bool
	}{
		{"10.64.0.1", true, true},
		{"10.64.0.1", false, false},
		{"10.64.0.2", false, true},
		{"10.64.0.3", true, true}, // absent condition reads as ready
		{"10.64.0.9", false, false},
	}
	for _, tc := range tests {
		if got := sliceShows(s, tc.ip, tc.ready); got != tc.want {
			t.Errorf("sliceShows(%s, %v) = %v, want %v", tc.ip, tc.ready, got, tc.want)
		}
	}
}

func TestEndpointsShow(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "10.64.0.1"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.64.0.2"}},
	}}}
	if !endpointsShow(ep, "10.64.0.1", true) || endpointsShow(ep, "10.64.0.1", false) ||
		!endpointsShow(ep, "10.64.0.2", false) || endpointsShow(ep, "10.64.0.2", true) {
		t.Error("endpointsShow does not tell ready from not-ready addresses")
	}
}

func TestWindowOf(t *testing.T) {
	base := time.Unix(1000, 0)
	starts := []time.Time{base, base.Add(10 * time.Millisecond), base.Add(20 * time.Millisecond)}
	tests := []struct {
		name string
		at   time.Duration
		want int
		ok   bool
	}{
		{name: "before the first", at: -time.Millisecond, ok: false},
		{name: "at a start", at: 10 * time.Millisecond, want: 1, ok: true},
		{name: "inside the first", at: 5 * time.Millisecond, want: 0, ok: true},
		{name: "after the last", at: time.Second, want: 2, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := windowOf(starts, base.Add(tc.at))
			if ok != tc.ok || (ok && k != tc.want) {
				t.Errorf("windowOf = %d, %v; want %d, %v", k, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestChanged(t *testing.T) {
	before := versions{"a/1": "10", "a/2": "11", "a/3": "12", "a/gone": "13"}
	after := versions{"a/1": "10", "a/2": "20", "a/3": "21", "a/new": "22"}
	skip := func(k string) bool { return k == "a/3" }
	if got := changed(before, after, skip); got != 3 {
		t.Errorf("changed = %d, want 3 (a/2 rewritten, a/gone deleted, a/new created)", got)
	}
}

func TestParseMetrics(t *testing.T) {
	const text = `# HELP svcnet_endpointslice_changes_total EndpointSlice writes.
# TYPE svcnet_endpointslice_changes_total counter
svcnet_endpointslice_changes_total{operation="create"} 5
svcnet_endpointslice_changes_total{operation="update"} 7
svcnet_endpointslice_changes_total_other 100
svcnet_endpoints_syncs_total 3
svcnet_endpointslice_syncs_total{result="success"} 1.2e+03
`
	m, err := parseMetrics(text)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.sum("svcnet_endpointslice_changes_total"); got != 12 {
		t.Errorf("sum of changes = %v, want 12", got)
	}
	if got := m.sum("svcnet_endpoints_syncs_total"); got != 3 {
		t.Errorf("sum of endpoints syncs = %v, want 3", got)
	}
	if got := m[`svcnet_endpointslice_syncs_total{result="success"}`]; got != 1200 {
		t.Errorf("slice syncs = %v, want 1200", got)
	}
	if _, err := parseMetrics("novalue"); err == nil {
		t.Error("parseMetrics accepted a line without a value")
	}
}

func TestParseMachine(t *testing.T) {
	busy, total, err := parseMachine("cpu  100 10 50 800 20 5 5 10 0 0")
	if err != nil || busy != 1800*time.Millisecond || total != 10000*time.Millisecond {
		t.Errorf("parseMachine = %v, %v, %v; want 1.8s of 10s", busy, total, err)
	}
	if _, _, err := parseMachine("cpu0 1 2 3 4 5 6 7 8"); err == nil {
		t.Error("parseMachine accepted a per-cpu line")
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int]string{999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}
