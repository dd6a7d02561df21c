package nodelifecycle

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func TestCheck(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	node := func(name string, heartbeat time.Duration, status corev1.ConditionStatus) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: status, LastHeartbeatTime: ago(heartbeat)}}}}
	}
	lease := func(name string, renewed time.Duration) *coordinationv1.Lease {
		t := metav1.NewMicroTime(now.Add(-renewed))
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: LeaseNamespace, Name: name}, Spec: coordinationv1.LeaseSpec{RenewTime: &t}}
	}
	pod := func(name, nodeName string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: corev1.PodSpec{NodeName: nodeName},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	}
	objs := []runtime.Object{
		node("fresh-lease", 5*time.Minute, corev1.ConditionTrue), lease("fresh-lease", 10*time.Second),
		node("stale-lease", 5*time.Minute, corev1.ConditionTrue), lease("stale-lease", 41*time.Second),
		node("no-lease-fresh-status", 30*time.Second, corev1.ConditionTrue),
		node("no-lease-stale-status", 2*time.Minute, corev1.ConditionTrue),
		node("already-unknown", 5*time.Minute, corev1.ConditionUnknown),
		pod("on-stale", "stale-lease"), pod("on-fresh", "fresh-lease"),
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, Options{GracePeriod: 40 * time.Second})
	ctx := t.Context()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		t.Fatal("caches did not sync")
	}
	if err := c.Check(ctx, now); err != nil {
		t.Fatal(err)
	}
	want := map[string]corev1.ConditionStatus{
		"fresh-lease": corev1.ConditionTrue, "stale-lease": corev1.ConditionUnknown,
		"no-lease-fresh-status": corev1.ConditionTrue, "no-lease-stale-status": corev1.ConditionUnknown,
		"already-unknown": corev1.ConditionUnknown,
	}
	for name, status := range want {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Status.Conditions[0].Status; got != status {
			t.Errorf("node %s Ready = %s; want %s", name, got, status)
		}
	}
	for name, status := range map[string]corev1.ConditionStatus{"on-stale": corev1.ConditionFalse, "on-fresh": corev1.ConditionTrue} {
		p, err := client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Status.Conditions[0].Status; got != status {
			t.Errorf("pod %s Ready = %s; want %s", name, got, status)
		}
	}
}
