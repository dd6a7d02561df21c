package namespace

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

var (
	t0 = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	t1 = metav1.NewTime(t0.Add(time.Minute))
)

// cond builds a condition at t0.
func cond(t corev1.NamespaceConditionType, s corev1.ConditionStatus, reason, message string) corev1.NamespaceCondition {
	return corev1.NamespaceCondition{Type: t, Status: s, LastTransitionTime: t0, Reason: reason, Message: message}
}

// allResolved is the five conditions of a pass that found nothing blocking.
func allResolved() []corev1.NamespaceCondition {
	return []corev1.NamespaceCondition{
		cond(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered"),
		cond(corev1.NamespaceDeletionGVParsingFailure, corev1.ConditionFalse, "ParsedGroupVersions", "All legacy kube types successfully parsed"),
		cond(corev1.NamespaceDeletionContentFailure, corev1.ConditionFalse, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
		cond(corev1.NamespaceContentRemaining, corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"),
		cond(corev1.NamespaceFinalizersRemaining, corev1.ConditionFalse, "ContentHasNoFinalizers", "All content-preserving finalizers finished"),
	}
}

// with returns allResolved with the conditions of the types in repl replaced.
func with(repl ...corev1.NamespaceCondition) []corev1.NamespaceCondition {
	out := allResolved()
	for _, r := range repl {
		for i := range out {
			if out[i].Type == r.Type {
				out[i] = r
			}
		}
	}
	return out
}

func TestContentConditions(t *testing.T) {
	services := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	endpointSlices := schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
	tests := []struct {
		name  string
		found content
		want  []corev1.NamespaceCondition
	}{
		{
			name: "nothing left",
			want: allResolved(),
		},
		{
			name:  "content remaining without finalizers (pods within their grace period)",
			found: content{remaining: map[schema.GroupVersionResource]int{pods: 2}},
			want: with(
				cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: pods. has 2 resource instances"),
			),
		},
		{
			name: "finalizers remaining",
			found: content{
				remaining:  map[schema.GroupVersionResource]int{services: 2, endpointSlices: 1},
				finalizers: map[string]int{"example.com/hold": 2, "example.com/another": 1},
			},
			want: with(
				cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain",
					"Some resources are remaining: endpointslices.discovery.k8s.io has 1 resource instances, services. has 2 resource instances"),
				cond(corev1.NamespaceFinalizersRemaining, corev1.ConditionTrue, "SomeFinalizersRemain",
					"Some content in the namespace has finalizers remaining: example.com/another in 1 resource instances, example.com/hold in 2 resource instances"),
			),
		},
		{
			name: "a delete failure",
			found: content{
				deleteErrs: []error{errors.New(`services is forbidden: no`), errors.New("unexpected items still remain in namespace: a for gvr: /v1, Resource=pods")},
				remaining:  map[schema.GroupVersionResource]int{pods: 1},
			},
			want: with(
				cond(corev1.NamespaceDeletionContentFailure, corev1.ConditionTrue, "ContentDeletionFailed",
					"Failed to delete all resource types, 2 remaining: services is forbidden: no, unexpected items still remain in namespace: a for gvr: /v1, Resource=pods"),
				cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: pods. has 1 resource instances"),
			),
		},
		{
			name:  "discovery failure of some groups",
			found: content{discoveryErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "metrics.k8s.io", Version: "v1beta1"}: errors.New("the server is currently unable to handle the request")}}},
			want: with(
				cond(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionTrue, "DiscoveryFailed",
					"Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request"),
			),
		},
		{
			name:  "discovery failure",
			found: content{discoveryErr: errors.New("connection refused")},
			want:  with(cond(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionTrue, "DiscoveryFailed", "connection refused")),
		},
		{
			name:  "unparsable group version",
			found: content{parseErr: errors.New("unexpected GroupVersion string: a/b/c")},
			want:  with(cond(corev1.NamespaceDeletionGVParsingFailure, corev1.ConditionTrue, "GroupVersionParsingFailed", "unexpected GroupVersion string: a/b/c")),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.found.conditions(t0)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conditions() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetConditions(t *testing.T) {
	other := corev1.NamespaceCondition{Type: "Other", Status: corev1.ConditionTrue, LastTransitionTime: t0, Reason: "R", Message: "m"}
	remaining := cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: services. has 2 resource instances")
	at := func(c corev1.NamespaceCondition, ts metav1.Time) corev1.NamespaceCondition {
		c.LastTransitionTime = ts
		return c
	}
	// wantAt1 is a pass at t1 that finds nothing blocking.
	wantAt1 := func() []corev1.NamespaceCondition {
		out := allResolved()
		for i := range out {
			out[i].LastTransitionTime = t1
		}
		return out
	}
	tests := []struct {
		name        string
		have        []corev1.NamespaceCondition
		want        []corev1.NamespaceCondition
		wantResult  []corev1.NamespaceCondition
		wantChanged bool
	}{
		{
			name:        "first pass appends all five in order after other types",
			have:        []corev1.NamespaceCondition{other},
			want:        wantAt1(),
			wantResult:  append([]corev1.NamespaceCondition{other}, wantAt1()...),
			wantChanged: true,
		},
		{
			name:       "same conditions again change nothing",
			have:       allResolved(),
			want:       wantAt1(),
			wantResult: allResolved(),
		},
		{
			name:        "a status flip moves the transition time",
			have:        with(remaining),
			want:        wantAt1(),
			wantResult:  with(at(allResolved()[3], t1)),
			wantChanged: true,
		},
		{
			name: "a new message under the same status keeps the transition time",
			have: with(remaining),
			want: with(at(cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: services. has 1 resource instances"), t1)),
			wantResult: with(
				cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: services. has 1 resource instances"),
			),
			wantChanged: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating, Conditions: tc.have}
			changed := setConditions(&status, tc.want)
			if changed != tc.wantChanged {
				t.Errorf("setConditions() = %v; want %v", changed, tc.wantChanged)
			}
			if diff := cmp.Diff(tc.wantResult, status.Conditions); diff != "" {
				t.Errorf("conditions after setConditions() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
