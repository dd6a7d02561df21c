package podgc

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newCached builds a Controller whose informer caches hold cached, filled by hand
// without starting the informers; the fake API holds cached and apiOnly.
func newCached(t *testing.T, cached, apiOnly []runtime.Object) (*Controller, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(append(slices.Clone(cached), apiOnly...)...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, Options{})
	for _, obj := range cached {
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
	return c, client
}

// calls lists the API calls of client other than list and watch, as
// "verb resource[/subresource]".
func calls(client *fake.Clientset) []string {
	var got []string
	for _, a := range client.Actions() {
		if v := a.GetVerb(); v == "list" || v == "watch" {
			continue
		}
		s := a.GetVerb() + " " + a.GetResource().Resource
		if sub := a.GetSubresource(); sub != "" {
			s += "/" + sub
		}
		got = append(got, s)
	}
	return got
}

// TestSync calls the reconciler of terminating Pods directly on informer caches
// filled by hand.
func TestSync(t *testing.T) {
	past, future := -time.Hour, time.Hour
	tests := []struct {
		name     string
		cached   []runtime.Object // in the informer caches and the API
		apiOnly  []runtime.Object // in the API only (the cache lags)
		conflict bool             // the API answers the delete with a UID conflict
		calls    []string
		wantWait bool
	}{{
		name:   "expired grace period: one forced delete",
		cached: []runtime.Object{node("n1"), pod("web", "n1", past)},
		calls:  []string{"delete pods"},
	}, {
		name:     "grace period running: no write, wait for it",
		cached:   []runtime.Object{node("n1"), pod("web", "n1", future)},
		wantWait: true,
	}, {
		name:     "node missing from the cache but present in the API is not gone",
		cached:   []runtime.Object{pod("web", "n1", future)},
		apiOnly:  []runtime.Object{node("n1")},
		calls:    []string{"get nodes"},
		wantWait: true,
	}, {
		name:   "node gone from the cache and the API: marked failed, then deleted at once",
		cached: []runtime.Object{pod("web", "n1", future)},
		calls:  []string{"get nodes", "patch pods/status", "delete pods"},
	}, {
		name: "pod already gone",
	}, {
		name:   "pod not terminating",
		cached: []runtime.Object{node("n1"), pod("web", "n1", running)},
	}, {
		name:     "pod replaced under the same name: the UID precondition fails quietly",
		cached:   []runtime.Object{node("n1"), pod("web", "n1", past)},
		conflict: true,
		calls:    []string{"delete pods"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, client := newCached(t, tc.cached, tc.apiOnly)
			if tc.conflict {
				client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewConflict(corev1.Resource("pods"), "web", nil)
				})
			}
			wait, err := c.sync(context.Background(), ns+"/web")
			if err != nil {
				t.Fatalf("sync = %v", err)
			}
			if got := calls(client); !slices.Equal(got, tc.calls) {
				t.Errorf("calls = %v; want %v", got, tc.calls)
			}
			if (wait > 0) != tc.wantWait || wait > future {
				t.Errorf("wait = %v; want a wait: %v (at most %v)", wait, tc.wantWait, future)
			}
		})
	}
}

// TestSyncNode calls the check at the end of a node's quarantine directly on
// informer caches filled by hand.
func TestSyncNode(t *testing.T) {
	hold := func(p *corev1.Pod) { p.Finalizers = []string{"example.com/hold"} }
	injected := errors.New("injected")
	tests := []struct {
		name    string
		cached  []runtime.Object // in the informer caches and the API
		apiOnly []runtime.Object // in the API only (the cache lags)
		fail    string           // "verb resource" the API answers with an internal error
		replace error            // the API's answer to the status patch of a replaced Pod
		calls   []string
		wantErr bool
	}{{
		name:   "node in neither cache nor API: status patched, then pod deleted",
		cached: []runtime.Object{pod("web", "n1", running, phase(corev1.PodRunning))},
		calls:  []string{"get nodes", "patch pods/status", "delete pods"},
	}, {
		name:   "node appeared in the cache during the quarantine: no call at all",
		cached: []runtime.Object{node("n1"), pod("web", "n1", running, phase(corev1.PodRunning))},
	}, {
		name:    "node in the API but not yet in the cache: the live read saves the pod",
		cached:  []runtime.Object{pod("web", "n1", running, phase(corev1.PodRunning))},
		apiOnly: []runtime.Object{node("n1")},
		calls:   []string{"get nodes"},
	}, {
		name:   "no pods left on the node: no live read",
		cached: []runtime.Object{pod("web", "other", running)},
	}, {
		name:   "finished pod: deleted without a status patch",
		cached: []runtime.Object{pod("web", "n1", running, phase(corev1.PodSucceeded))},
		calls:  []string{"get nodes", "delete pods"},
	}, {
		name:   "running pod with finalizers: marked and deleted (the delete makes it terminating)",
		cached: []runtime.Object{pod("web", "n1", running, hold)},
		calls:  []string{"get nodes", "patch pods/status", "delete pods"},
	}, {
		name:   "terminating pod with finalizers: marked only",
		cached: []runtime.Object{pod("web", "n1", time.Hour, hold)},
		calls:  []string{"get nodes", "patch pods/status"},
	}, {
		name:   "terminating pod without finalizers: left to the terminating-pod queue",
		cached: []runtime.Object{pod("web", "n1", time.Hour)},
	}, {
		name:    "live read fails: error, no write",
		cached:  []runtime.Object{pod("web", "n1", running)},
		fail:    "get nodes",
		calls:   []string{"get nodes"},
		wantErr: true,
	}, {
		name:    "status patch fails: error, no delete",
		cached:  []runtime.Object{pod("web", "n1", running)},
		fail:    "patch pods",
		calls:   []string{"get nodes", "patch pods/status"},
		wantErr: true,
	}, {
		name:    "delete fails: error",
		cached:  []runtime.Object{pod("web", "n1", running)},
		fail:    "delete pods",
		calls:   []string{"get nodes", "patch pods/status", "delete pods"},
		wantErr: true,
	}, {
		name:    "pod replaced under the same name: the status patch is refused as a uid change, no delete",
		cached:  []runtime.Object{pod("web", "n1", running)},
		replace: apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Pod").GroupKind(), "web", field.ErrorList{field.Invalid(field.NewPath("metadata", "uid"), "uid-web", "field is immutable")}),
		calls:   []string{"get nodes", "patch pods/status"},
	}, {
		name:    "pod replaced under the same name: the status patch conflicts, no delete",
		cached:  []runtime.Object{pod("web", "n1", running)},
		replace: apierrors.NewConflict(corev1.Resource("pods"), "web", errors.New("Precondition failed: UID in precondition")),
		calls:   []string{"get nodes", "patch pods/status"},
	}, {
		name:    "status patch invalid for another reason: error",
		cached:  []runtime.Object{pod("web", "n1", running)},
		replace: apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Pod").GroupKind(), "web", field.ErrorList{field.Invalid(field.NewPath("status", "phase"), "Failed", "no")}),
		calls:   []string{"get nodes", "patch pods/status"},
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, client := newCached(t, tc.cached, tc.apiOnly)
			client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
				switch verbResource := a.GetVerb() + " " + a.GetResource().Resource; {
				case verbResource == tc.fail:
					return true, nil, apierrors.NewInternalError(injected)
				case tc.replace != nil && verbResource == "patch pods":
					return true, nil, tc.replace
				}
				return false, nil, nil
			})
			err := c.syncNode(context.Background(), "n1")
			if (err != nil) != tc.wantErr {
				t.Fatalf("syncNode = %v; want an error: %v", err, tc.wantErr)
			}
			if err != nil && !apierrors.IsInternalError(err) && !errors.Is(err, tc.replace) {
				t.Errorf("syncNode = %v; want it to wrap the API error", err)
			}
			if got := calls(client); !slices.Equal(got, tc.calls) {
				t.Errorf("calls = %v; want %v", got, tc.calls)
			}
		})
	}
}
