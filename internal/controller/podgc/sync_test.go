package podgc

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestSync calls the reconciler directly on informer caches filled by hand.
func TestSync(t *testing.T) {
	past, future := -time.Hour, time.Hour
	tests := []struct {
		name     string
		cached   []runtime.Object // in the informer caches and the API
		apiOnly  []runtime.Object // in the API only (the cache lags)
		conflict bool             // the API answers the delete with a UID conflict
		writes   []string
		wantWait bool
	}{{
		name:   "expired grace period: one forced delete",
		cached: []runtime.Object{node("n1"), pod("web", "n1", past)},
		writes: []string{"delete pods"},
	}, {
		name:     "grace period running: no write, wait for it",
		cached:   []runtime.Object{node("n1"), pod("web", "n1", future)},
		wantWait: true,
	}, {
		name:     "node missing from the cache but present in the API is not gone",
		cached:   []runtime.Object{pod("web", "n1", future)},
		apiOnly:  []runtime.Object{node("n1")},
		wantWait: true,
	}, {
		name: "pod already gone",
	}, {
		name:   "pod not terminating",
		cached: []runtime.Object{node("n1"), pod("web", "n1", running)},
	}, {
		name:     "pod replaced under the same name: the UID precondition fails quietly",
		cached:   []runtime.Object{node("n1"), pod("web", "n1", past)},
		conflict: true,
		writes:   []string{"delete pods"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(append(slices.Clone(tc.cached), tc.apiOnly...)...)
			if tc.conflict {
				client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewConflict(corev1.Resource("pods"), "web", nil)
				})
			}
			factory := informers.NewSharedInformerFactory(client, 0)
			c := New(client, factory, Options{})
			for _, obj := range tc.cached {
				var err error
				switch o := obj.(type) {
				case *corev1.Pod:
					err = factory.Core().V1().Pods().Informer().GetStore().Add(o)
				case *corev1.Node:
					err = factory.Core().V1().Nodes().Informer().GetStore().Add(o)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			wait, err := c.sync(context.Background(), ns+"/web")
			if err != nil {
				t.Fatalf("sync = %v", err)
			}
			var got []string
			for _, a := range client.Actions() {
				if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
					got = append(got, v+" "+a.GetResource().Resource)
				}
			}
			if !slices.Equal(got, tc.writes) {
				t.Errorf("writes = %v; want %v", got, tc.writes)
			}
			if (wait > 0) != tc.wantWait || wait > future {
				t.Errorf("wait = %v; want a wait: %v (at most %v)", wait, tc.wantWait, future)
			}
		})
	}
}
