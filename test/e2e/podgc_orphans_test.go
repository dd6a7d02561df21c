package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// Pod addresses in this file come from 10.244.9.0/24; they are only data.

// orphanQuarantine is podgc's quarantine for a node missing from its cache, as
// kube-controller-manager's PodGC quarantineTime.
const orphanQuarantine = 40 * time.Second

// TestPodGCOrphans binds pods to nodes that do not exist, behind a Service with
// publishNotReadyAddresses (which keeps endpoints of pods whose node is missing):
// after the quarantine, the pod of a never-created node is marked Failed with
// PodGC's DisruptionTarget condition, leaves the EndpointSlice and is deleted;
// the pod whose node is created during the quarantine and the pod without a
// node stay.
func TestPodGCOrphans(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := s.client()
	pods := cs.CoreV1().Pods("default")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "orphans"}, Spec: corev1.ServiceSpec{
		Selector:                 map[string]string{"app": "orphans"},
		PublishNotReadyAddresses: true,
		Ports:                    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
	}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Record what happens to the doomed pod from before it exists.
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "ghost-pod").String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	created := time.Now()
	readyPod(t, cs, "orphans", "ghost-pod", "ghost", "10.244.9.1", true)
	readyPod(t, cs, "orphans", "saved-pod", "late", "10.244.9.2", true)
	readyPod(t, cs, "orphans", "unbound-pod", "", "10.244.9.3", true)
	waitEndpoints := func(timeout time.Duration, want ...string) {
		t.Helper()
		eventually(t, timeout, func() error {
			got, _, err := sliceEndpoints(cs, "orphans")
			if err != nil {
				return err
			}
			if ips := slices.Sorted(maps.Keys(got)); !slices.Equal(ips, want) {
				return fmt.Errorf("slice endpoints %v; want %v", ips, want)
			}
			return nil
		})
	}
	waitEndpoints(15*time.Second, "10.244.9.1", "10.244.9.2", "10.244.9.3")
	// Node "late" appears well within the quarantine and saves its pod.
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The watch must show the pod marked Failed with the condition, then deleted.
	var marked *corev1.Pod
	deadline := time.After(orphanQuarantine + 20*time.Second)
	for deleted := false; !deleted; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch of ghost-pod ended early")
			}
			p, isPod := ev.Object.(*corev1.Pod)
			switch {
			case !isPod:
				t.Fatalf("watch event %s of %T", ev.Type, ev.Object)
			case ev.Type == watch.Deleted:
				deleted = true
				if marked == nil {
					t.Fatalf("ghost-pod deleted without being marked Failed first; last state %+v", p.Status)
				}
			case ev.Type == watch.Modified && p.Status.Phase == corev1.PodFailed && marked == nil:
				marked = p
			}
		case <-deadline:
			t.Fatalf("ghost-pod not deleted %v after its creation", time.Since(created).Round(time.Second))
		}
	}
	took := time.Since(created)
	t.Logf("ghost-pod deleted %v after its creation", took.Round(100*time.Millisecond))
	if took < orphanQuarantine {
		t.Errorf("ghost-pod deleted %v after its creation; want no sooner than the %v quarantine", took, orphanQuarantine)
	}
	var cond *corev1.PodCondition
	for i := range marked.Status.Conditions {
		if c := &marked.Status.Conditions[i]; c.Type == corev1.DisruptionTarget {
			cond = c
		}
	}
	if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != "DeletionByPodGC" ||
		cond.Message != "PodGC: node no longer exists" || cond.LastTransitionTime.IsZero() {
		t.Errorf("DisruptionTarget condition = %+v; want True, DeletionByPodGC, \"PodGC: node no longer exists\", with a transition time", cond)
	}
	if _, err := pods.Get(ctx, "ghost-pod", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get ghost-pod after its delete: %v; want NotFound", err)
	}

	waitEndpoints(15*time.Second, "10.244.9.2", "10.244.9.3")
	// The other pods' quarantine ended with ghost-pod's; they stay for good.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for _, name := range []string{"saved-pod", "unbound-pod"} {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get %s: %v; want it kept", name, err)
			}
			if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				t.Fatalf("%s: phase %s, deletionTimestamp %v; want Running and not terminating", name, p.Status.Phase, p.DeletionTimestamp)
			}
		}
	}
	waitEndpoints(time.Second, "10.244.9.2", "10.244.9.3")
}
