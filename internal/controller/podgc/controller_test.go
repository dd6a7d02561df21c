package podgc

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
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

// createNode is an event that creates Node name.
func createNode(name string) func(context.Context, *testing.T, *fake.Clientset) {
	return func(ctx context.Context, t *testing.T, client *fake.Clientset) {
		if _, err := client.CoreV1().Nodes().Create(ctx, node(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// deleteNode is an event that deletes Node name.
func deleteNode(name string) func(context.Context, *testing.T, *fake.Clientset) {
	return func(ctx context.Context, t *testing.T, client *fake.Clientset) {
		if err := client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// write is a write the controller made, and when.
type write struct {
	at     time.Duration
	action k8stesting.Action
}

// TestRun runs the controller against a fake API in a synctest bubble, whose clock
// moves only when everything waits, and checks when each Pod is deleted and
// whether its status was patched first.
func TestRun(t *testing.T) {
	tests := []struct {
		name          string
		opts          Options
		nodes         []string
		liveNodes     []string           // Nodes only a live GET finds (the cache never sees them)
		pod           func() *corev1.Pod // built inside the bubble, at its start time
		events        []event
		failPatches   int           // status patches that fail before one succeeds
		failDeletes   int           // deletes that fail before one succeeds
		wantDeletedAt time.Duration // never: not within the test's hour, and no write at all
		wantMarked    bool          // a status patch marked the Pod Failed before its delete
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
		name:          "terminating pod of a vanished node is marked and deleted at once",
		nodes:         nil,
		pod:           func() *corev1.Pod { return pod("web", "gone", 10*time.Minute) },
		wantDeletedAt: 0,
		wantMarked:    true,
	}, {
		name:          "node deleted during the grace period",
		nodes:         []string{"n1"},
		pod:           func() *corev1.Pod { return pod("web", "n1", 10*time.Minute) },
		events:        []event{{at: 20 * time.Second, do: deleteNode("n1")}},
		wantDeletedAt: 20 * time.Second,
		wantMarked:    true,
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
		name:          "running pod without a node is left alone",
		pod:           func() *corev1.Pod { return pod("web", "", running, phase(corev1.PodRunning)) },
		wantDeletedAt: never,
	}, {
		name:          "running pod of a never-created node goes after the quarantine",
		pod:           func() *corev1.Pod { return pod("web", "ghost", running, phase(corev1.PodRunning)) },
		wantDeletedAt: DefaultQuarantine,
		wantMarked:    true,
	}, {
		name:  "the quarantine runs from the first sight of the node, not from each update",
		nodes: nil,
		pod:   func() *corev1.Pod { return pod("web", "ghost", running) },
		events: []event{{at: 30 * time.Second, do: func(ctx context.Context, t *testing.T, client *fake.Clientset) {
			if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod("web", "ghost", running, phase(corev1.PodRunning)), metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}}},
		wantDeletedAt: DefaultQuarantine,
		wantMarked:    true,
	}, {
		name:          "a node created during the quarantine saves its pods",
		pod:           func() *corev1.Pod { return pod("web", "late", running, phase(corev1.PodRunning)) },
		events:        []event{{at: 20 * time.Second, do: createNode("late")}},
		wantDeletedAt: never,
	}, {
		name:          "a node the cache never sees but the API has saves its pods",
		liveNodes:     []string{"lagging"},
		pod:           func() *corev1.Pod { return pod("web", "lagging", running, phase(corev1.PodRunning)) },
		wantDeletedAt: never,
	}, {
		name:          "running pod of a node deleted later goes a quarantine after the delete",
		nodes:         []string{"n1"},
		pod:           func() *corev1.Pod { return pod("web", "n1", running, phase(corev1.PodRunning)) },
		events:        []event{{at: 10 * time.Second, do: deleteNode("n1")}},
		wantDeletedAt: 10*time.Second + DefaultQuarantine,
		wantMarked:    true,
	}, {
		name:          "finished pod of a never-created node is deleted unpatched",
		pod:           func() *corev1.Pod { return pod("web", "ghost", running, phase(corev1.PodSucceeded)) },
		wantDeletedAt: DefaultQuarantine,
	}, {
		name:          "the quarantine is an option",
		opts:          Options{Quarantine: 5 * time.Second},
		pod:           func() *corev1.Pod { return pod("web", "ghost", running, phase(corev1.PodRunning)) },
		wantDeletedAt: 5 * time.Second,
		wantMarked:    true,
	}, {
		name:          "failed status patches are retried without a new quarantine",
		pod:           func() *corev1.Pod { return pod("web", "ghost", running, phase(corev1.PodRunning)) },
		failPatches:   3,
		wantDeletedAt: DefaultQuarantine,
		wantMarked:    true,
	}, {
		name:          "failed deletes are retried without a new quarantine",
		pod:           func() *corev1.Pod { return pod("web", "ghost", running, phase(corev1.PodRunning)) },
		failDeletes:   3,
		wantDeletedAt: DefaultQuarantine,
		wantMarked:    true,
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
				created := tc.pod()
				objs := []runtime.Object{created}
				for _, n := range tc.nodes {
					objs = append(objs, node(n))
				}
				client := fake.NewClientset(objs...)
				var mu sync.Mutex
				var writes []write // successful writes, in order
				var deletedAt time.Duration = never
				failPatches, failDeletes := tc.failPatches, tc.failDeletes
				client.PrependReactor("*", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if v := a.GetVerb(); v != "patch" && v != "delete" {
						return false, nil, nil
					}
					mu.Lock()
					defer mu.Unlock()
					switch a.GetVerb() {
					case "patch":
						if failPatches > 0 {
							failPatches--
							return true, nil, apierrors.NewInternalError(errors.New("injected"))
						}
					case "delete":
						if failDeletes > 0 {
							failDeletes--
							return true, nil, apierrors.NewServiceUnavailable("injected")
						}
						if deletedAt == never {
							deletedAt = time.Since(start)
						}
					}
					writes = append(writes, write{at: time.Since(start), action: a})
					return false, nil, nil
				})
				client.PrependReactor("get", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if name := a.(k8stesting.GetAction).GetName(); slices.Contains(tc.liveNodes, name) {
						return true, node(name), nil
					}
					return false, nil, nil
				})
				deleted := func() time.Duration {
					mu.Lock()
					defer mu.Unlock()
					return deletedAt
				}
				factory := informers.NewSharedInformerFactory(client, 0)
				c := New(client, factory, tc.opts)
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
					if deletedAt != never || len(writes) > 0 {
						t.Fatalf("pod deleted at %v after writes %v; want it kept and untouched", deletedAt, writes)
					}
					return
				}
				// Cache sync takes up to a 100ms poll, and deadlines are met
				// within the second-long steps of this loop.
				if deletedAt < tc.wantDeletedAt || deletedAt > tc.wantDeletedAt+time.Second {
					t.Fatalf("pod deleted at %v; want at %v", deletedAt, tc.wantDeletedAt)
				}
				wantVerbs := []string{"delete"}
				if tc.wantMarked {
					wantVerbs = []string{"patch", "delete"}
				}
				var verbs []string
				for _, w := range writes {
					verbs = append(verbs, w.action.GetVerb())
				}
				if !slices.Equal(verbs, wantVerbs) {
					t.Fatalf("writes = %v; want %v", verbs, wantVerbs)
				}
				if tc.wantMarked {
					checkMarked(t, created, writes[0].action.(k8stesting.PatchAction), start.Add(writes[0].at))
				}
				opts := writes[len(writes)-1].action.(k8stesting.DeleteActionImpl).GetDeleteOptions()
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

// phase sets a Pod's status.phase.
func phase(ph corev1.PodPhase) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}

// checkMarked applies the status patch a to pod and checks the result: phase
// Failed, the DisruptionTarget condition PodGC writes (transition time at), the
// other conditions kept, and the UID as a precondition.
func checkMarked(t *testing.T, pod *corev1.Pod, a k8stesting.PatchAction, at time.Time) {
	t.Helper()
	if a.GetSubresource() != "status" || a.GetPatchType() != types.StrategicMergePatchType {
		t.Fatalf("patch of %q as %s; want a strategic merge patch of status", a.GetSubresource(), a.GetPatchType())
	}
	before, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	after, err := strategicpatch.StrategicMergePatch(before, a.GetPatch(), corev1.Pod{})
	if err != nil {
		t.Fatalf("apply patch %s: %v", a.GetPatch(), err)
	}
	var got corev1.Pod
	if err := json.Unmarshal(after, &got); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(a.GetPatch(), &meta); err != nil || meta.Metadata.UID != string(pod.UID) {
		t.Errorf("patch %s names uid %q; want %q", a.GetPatch(), meta.Metadata.UID, pod.UID)
	}
	want := pod.Status.DeepCopy()
	want.Phase = corev1.PodFailed
	want.Conditions = append(want.Conditions, corev1.PodCondition{
		Type:               corev1.DisruptionTarget,
		Status:             corev1.ConditionTrue,
		Reason:             "DeletionByPodGC",
		Message:            "PodGC: node no longer exists",
		LastTransitionTime: metav1.NewTime(at.Truncate(time.Second)),
	})
	if diff := cmp.Diff(*want, got.Status); diff != "" {
		t.Errorf("status after the patch (-want +got):\n%s", diff)
	}
}
