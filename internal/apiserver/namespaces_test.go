package apiserver

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestNamespaceCacheOrder checks that the cache keeps the newest of what the
// write path and the watch tell it, in whichever order they arrive: a delete
// made through this server refuses creates before the watch catches up, and a
// late watch event from before the delete does not undo that.
func TestNamespaceCacheOrder(t *testing.T) {
	svcGR := schema.GroupResource{Resource: "services"}
	ns := func(rv string, terminating bool) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed", ResourceVersion: rv},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
		if terminating {
			now := metav1.Now()
			n.DeletionTimestamp, n.Status.Phase = &now, corev1.NamespaceTerminating
		}
		return n
	}
	ctx := context.Background()
	c := newNamespaceCache(nil)
	c.set(ns("10", false), false, 10)
	if err := c.admit(ctx, "doomed", svcGR, "late"); err != nil {
		t.Fatalf("active namespace: %v", err)
	}
	c.deletedHere(ns("12", true))
	err := c.admit(ctx, "doomed", svcGR, "late")
	if want := `services "late" is forbidden: unable to create new content in namespace doomed because it is being terminated`; !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("right after the delete: %v; want Forbidden %q", err, want)
	}
	c.set(ns("11", false), false, 11) // an older update the watch delivers late
	if err := c.admit(ctx, "doomed", svcGR, "late"); !apierrors.IsForbidden(err) {
		t.Fatalf("after a late, older watch event: %v; want Forbidden", err)
	}
	c.set(ns("12", true), true, 13) // the namespace is finally removed
	c.mu.RLock()
	_, cached := c.phases["doomed"]
	c.mu.RUnlock()
	if cached {
		t.Error("a removed namespace stays in the cache")
	}
}
