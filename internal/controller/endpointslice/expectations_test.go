package endpointslice

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func versioned(name, rv string, generation int64) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv, Generation: generation}}
}

func TestExpectationsStale(t *testing.T) {
	const svc = "ns/web"
	cases := []struct {
		name   string
		record func(x *expectations)
		cached []*discoveryv1.EndpointSlice
		want   bool
	}{
		{name: "nothing recorded", cached: []*discoveryv1.EndpointSlice{versioned("a", "1", 1)}, want: false},
		{
			name:   "cache has our write",
			record: func(x *expectations) { x.wrote(svc, versioned("a", "5", 1)) },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "5", 1)},
			want:   false,
		},
		{
			name:   "cache is newer than our write",
			record: func(x *expectations) { x.wrote(svc, versioned("a", "5", 1)) },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "9", 2)},
			want:   false,
		},
		{
			name:   "cache is older than our update",
			record: func(x *expectations) { x.wrote(svc, versioned("a", "5", 2)) },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "4", 1)},
			want:   true,
		},
		{
			name:   "cache lacks our create",
			record: func(x *expectations) { x.wrote(svc, versioned("b", "5", 1)) },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "4", 1)},
			want:   true,
		},
		{
			name:   "cache still has our delete",
			record: func(x *expectations) { x.deleted(svc, "a") },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "4", 1)},
			want:   true,
		},
		{
			name:   "our delete has been seen",
			record: func(x *expectations) { x.deleted(svc, "a"); x.observeDeleted(svc, "a") },
			cached: nil,
			want:   false,
		},
		{
			name:   "opaque resourceVersions fall back to generation",
			record: func(x *expectations) { x.wrote(svc, versioned("a", "x7", 3)) },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "x6", 2)},
			want:   true,
		},
		{
			name:   "other service",
			record: func(x *expectations) { x.wrote("ns/api", versioned("b", "5", 1)) },
			cached: []*discoveryv1.EndpointSlice{versioned("a", "4", 1)},
			want:   false,
		},
		{
			name:   "forgotten service",
			record: func(x *expectations) { x.wrote(svc, versioned("b", "5", 1)); x.forget(svc) },
			want:   false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newExpectations()
			if tc.record != nil {
				tc.record(x)
			}
			if got := x.stale(svc, tc.cached); got != tc.want {
				t.Errorf("stale = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExpectationsOwnWrite(t *testing.T) {
	const svc = "ns/web"
	x := newExpectations()
	x.wrote(svc, versioned("a", "5", 2))
	x.wrote(svc, versioned("o", "opaque", 1))
	x.deleted(svc, "d")
	cases := []struct {
		name  string
		slice *discoveryv1.EndpointSlice
		want  bool
	}{
		{name: "our write", slice: versioned("a", "5", 2), want: true},
		{name: "older than our write", slice: versioned("a", "3", 1), want: true},
		{name: "newer than our write", slice: versioned("a", "6", 3), want: false},
		{name: "unknown slice", slice: versioned("b", "5", 1), want: false},
		{name: "opaque version, same", slice: versioned("o", "opaque", 1), want: true},
		{name: "opaque version, other", slice: versioned("o", "opaque2", 2), want: false},
		{name: "slice we deleted", slice: versioned("d", "9", 1), want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := x.ownWrite(svc, tc.slice); got != tc.want {
				t.Errorf("ownWrite = %v, want %v", got, tc.want)
			}
		})
	}
}
