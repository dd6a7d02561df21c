package podgc

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const ns = "default"

// never is a wantDeletedAt meaning the Pod must survive the whole test.
const never = time.Duration(-1)

// running is a grace period meaning the Pod is not terminating.
const running = time.Duration(math.MinInt64)

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// pod is a Pod on node, terminating with its deadline grace after the test's
// start unless grace is running.
func pod(name, node string, grace time.Duration, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node},
	}
	if grace != running {
		deadline := metav1.NewTime(time.Now().Add(grace))
		p.DeletionTimestamp = &deadline
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// event is an API change made by the test at a point in time.
type event struct {
	at time.Duration
	do func(ctx context.Context, t *testing.T, client *fake.Clientset)
}

// TestRun runs the controller against a fake API in a synctest bubble, whose clock
// moves only when everything waits, and checks when each Pod is deleted.
func TestRun(t *testing.T) {
	tests := []struct {
		name          string
		nodes         []string
		pod           func() *corev1.Pod // built inside the bubble, at its start time
		events        []event
		wantDeletedAt time.Duration // never: not within the test's hour
	}{{
		name:          "deleted when the grace period ends",
		nodes:         []string{"n1"},
		pod:           func() *corev1.Pod { return pod("web", "n1", 30*time.Second) },
		wantDeletedAt: 30 * time.Second,
	}, {
		name:          "deadline already passed at start",
		nodes:         []string{"n1"},
		pod:           func() *corev1.Pod { return pod("web", "n1", -time.Second) },
		wantDeletedAt: 0,
	}, {
		name:          "pod of a vanished node is deleted at once",
		nodes:         nil,
		pod:           func() *corev1.Pod { return pod("web", "gone", 10*time.Minute) },
		wantDeletedAt: 0,
	}, {
		name:  "node deleted during the grace period",
		nodes: []string{"n1"},
		pod:   func() *corev1.Pod { return pod("web", "n1", 10*time.Minute) },
		events: []event{{at: 20 * time.Second, do: func(ctx context.Context, t *testing.T, client *fake.Clientset) {
			if err := client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}}},
		wantDeletedAt: 20 * time.Second,
	}, {
		name:          "unscheduled terminating pod is deleted at once",
		pod:           func() *corev1.Pod { return pod("web", "", 30*time.Second) },
		wantDeletedAt: 0,
	}, {
		name:  "a shortened grace period is honoured",
		nodes: []string{"n1"},
		pod:   func() *corev1.Pod { return pod("web", "n1", 10*time.Minute) },
		events: []event{{at: 5 * time.Second, do: func(ctx context.Context, t *testing.T, client *fake.Clientset) {
			p := pod("web", "n1", 10*time.Second) // now+10s: due at 15s
			if _, err := client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}}},
		wantDeletedAt: 15 * time.Second,
	}, {
		name:          "running pod is left alone",
		nodes:         []string{"n1"},
		pod:           func() *corev1.Pod { return pod("web", "n1", running) },
		wantDeletedAt: never,
	}, {
		name:  "running pod of a vanished node is left alone",
		nodes: nil,
		pod:   func() *corev1.Pod { return pod("web", "gone", running) },
		events: []event{{at: time.Second, do: func(ctx context.Context, t *testing.T, client *fake.Clientset) {
			if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod("web", "gone", running, func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
			}), metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}}},
		wantDeletedAt: never,
	}, {
		name:  "pod holding finalizers is left to their owners",
		nodes: []string{"n1"},
		pod: func() *corev1.Pod {
			return pod("web", "n1", 30*time.Second, func(p *corev1.Pod) { p.Finalizers = []string{"example.com/hold"} })
		},
		wantDeletedAt: never,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ctx, cancel := context.WithCancel(t.Context())
				objs := []runtime.Object{tc.pod()}
				for _, n := range tc.nodes {
					objs = append(objs, node(n))
				}
				client := fake.NewClientset(objs...)
				var mu sync.Mutex
				var deletedAt time.Duration = never
				var deletes []k8stesting.DeleteActionImpl
				client.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
					mu.Lock()
					defer mu.Unlock()
					deletes = append(deletes, a.(k8stesting.DeleteActionImpl))
					if deletedAt == never {
						deletedAt = time.Since(start)
					}
					return false, nil, nil
				})
				deleted := func() time.Duration {
					mu.Lock()
					defer mu.Unlock()
					return deletedAt
				}
				factory := informers.NewSharedInformerFactory(client, 0)
				c := New(client, factory, Options{})
				factory.Start(ctx.Done())
				done := make(chan error)
				go func() { done <- c.Run(ctx, 1) }()
				defer func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("Run = %v", err)
					}
					factory.Shutdown()
				}()

				// Advance the clock a second at a time, applying the events due.
				events := tc.events
				for time.Since(start) < time.Hour && deleted() == never {
					for len(events) > 0 && time.Since(start) >= events[0].at {
						events[0].do(ctx, t, client)
						events = events[1:]
					}
					time.Sleep(time.Second)
					synctest.Wait()
				}

				mu.Lock()
				defer mu.Unlock()
				if tc.wantDeletedAt == never {
					if deletedAt != never {
						t.Fatalf("pod deleted at %v; want it kept", deletedAt)
					}
					return
				}
				// Cache sync takes up to a 100ms poll, and deadlines are met
				// within the second-long steps of this loop.
				if deletedAt < tc.wantDeletedAt || deletedAt > tc.wantDeletedAt+time.Second {
					t.Fatalf("pod deleted at %v; want at %v", deletedAt, tc.wantDeletedAt)
				}
				if len(deletes) != 1 {
					t.Fatalf("deletes = %d; want 1", len(deletes))
				}
				opts := deletes[0].GetDeleteOptions()
				if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0 ||
					opts.Preconditions == nil || opts.Preconditions.UID == nil || *opts.Preconditions.UID != "uid-web" {
					t.Errorf("delete options = %+v; want grace period 0 and UID precondition uid-web", opts)
				}
				if _, err := client.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
					t.Errorf("pod still stored after its delete")
				}
			})
		})
	}
}
