package main

import (
	"testing"
	"time"
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
		{name: "p90 of ten", sorted: ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), p: 90, want: 9 * time.Millisecond},
		{name: "p100", sorted: ms(1, 2, 3), p: 100, want: 3 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{name: "empty", in: nil, want: 0},
		{name: "odd unsorted", in: []time.Duration{30, 10, 20}, want: 20},
		{name: "even takes the mean of the middle two", in: []time.Duration{40, 10, 30, 20}, want: 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestWatchIndex(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{name: "sentinel", in: "ready", want: sentinel},
		{name: "written", in: watchName(123), want: 123},
		{name: "foreign", in: "svc-00001", want: -2},
		{name: "bad number", in: "w-x", want: -2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := watchIndex(tc.in); got != tc.want {
				t.Errorf("watchIndex(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	tests := []struct {
		name string
		in   int
		want string
	}{
		{name: "small", in: 999, want: "999"},
		{name: "ten thousand", in: 10000, want: "10,000"},
		{name: "million", in: 1234567, want: "1,234,567"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := thousands(tc.in); got != tc.want {
				t.Errorf("thousands(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseHandlerTime(t *testing.T) {
	const text = `# HELP svcnet_apiserver_request_duration_seconds API request latency.
svcnet_apiserver_request_duration_seconds_bucket{resource="services",verb="create",le="0.001"} 3
svcnet_apiserver_request_duration_seconds_sum{resource="services",verb="create"} 1.5
svcnet_apiserver_request_duration_seconds_count{resource="services",verb="create"} 10
svcnet_apiserver_request_duration_seconds_sum{resource="services",verb="list"} 0.25
svcnet_apiserver_request_duration_seconds_count{resource="services",verb="list"} 2
svcnet_apiserver_request_duration_seconds_sum{resource="pods",verb="create"} 9
svcnet_apiserver_request_duration_seconds_count{resource="pods",verb="create"} 9
`
	tests := []struct {
		name string
		verb string
		want handlerTime
	}{
		{name: "create", verb: "create", want: handlerTime{sum: 1.5, count: 10}},
		{name: "list", verb: "list", want: handlerTime{sum: 0.25, count: 2}},
		{name: "absent verb", verb: "delete", want: handlerTime{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHandlerTime(text, tc.verb)
			if err != nil {
				t.Fatalf("parseHandlerTime: %v", err)
			}
			if got != tc.want {
				t.Errorf("parseHandlerTime(%q) = %+v, want %+v", tc.verb, got, tc.want)
			}
		})
	}
}

func TestHandlerTimeSince(t *testing.T) {
	tests := []struct {
		name          string
		before, after handlerTime
		wantMean      time.Duration
		wantCount     int64
	}{
		{name: "two requests", before: handlerTime{sum: 1, count: 4}, after: handlerTime{sum: 1.5, count: 6},
			wantMean: 250 * time.Millisecond, wantCount: 2},
		{name: "none", before: handlerTime{sum: 1, count: 4}, after: handlerTime{sum: 1, count: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mean, n := tc.after.since(tc.before)
			if mean != tc.wantMean || n != tc.wantCount {
				t.Errorf("since = %v, %d; want %v, %d", mean, n, tc.wantMean, tc.wantCount)
			}
		})
	}
}

func TestParseMachineCPU(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    machineCPU
		wantErr bool
	}{
		{name: "full line", line: "cpu  100 10 50 800 20 5 5 10 0 0",
			want: machineCPU{busy: 1700 * time.Millisecond, idle: 8200 * time.Millisecond, steal: 100 * time.Millisecond}},
		{name: "per-cpu line refused", line: "cpu0 1 2 3 4 5 6 7 8", wantErr: true},
		{name: "short", line: "cpu 1 2 3", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMachineCPU(tc.line)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseMachineCPU error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseMachineCPU = %+v, want %+v", got, tc.want)
			}
		})
	}
}
