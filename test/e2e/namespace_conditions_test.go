package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// TestNamespaceDeletionConditions deletes a namespace whose Service holds a
// finalizer: kubectl describe namespace explains the wait with Kubernetes'
// NamespaceContentRemaining and NamespaceFinalizersRemaining conditions; once the
// finalizer is removed, the conditions turn False and the namespace goes.
func TestNamespaceDeletionConditions(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := s.client()
	const ns = "held-open"
	s.mustKubectl("", "create", "namespace", ns)
	held := newService("held")
	held.Finalizers = []string{"example.com/hold"}
	for _, svc := range []*corev1.Service{held, newService("plain")} {
		if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s.mustKubectl("", "delete", "namespace", ns, "--wait=false")

	// kubectl prints each condition as: type, status, time, reason, message.
	row := func(typ, status, reason, message string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^\s+` + typ + `\s+` + status + `\s+.+\s+` + reason + `\s+` + regexp.QuoteMeta(message) + `$`)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^Status:\s+Terminating$`),
		row("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"),
		row("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
		row("NamespaceDeletionContentFailure", "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
		row("NamespaceContentRemaining", "True", "SomeResourcesRemain", "Some resources are remaining: services. has 1 resource instances"),
		row("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"),
	}
	eventually(t, 15*time.Second, func() error {
		out := s.mustKubectl("", "describe", "namespace", ns)
		for _, re := range want {
			if !re.MatchString(out) {
				return fmt.Errorf("describe namespace %s lacks %s:\n%s", ns, re, out)
			}
		}
		return nil
	})
	got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var types []corev1.NamespaceConditionType
	for _, c := range got.Status.Conditions {
		types = append(types, c.Type)
	}
	wantTypes := []corev1.NamespaceConditionType{
		corev1.NamespaceDeletionDiscoveryFailure, corev1.NamespaceDeletionGVParsingFailure, corev1.NamespaceDeletionContentFailure,
		corev1.NamespaceContentRemaining, corev1.NamespaceFinalizersRemaining,
	}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("condition types = %v; want %v", types, wantTypes)
	}

	// Watch the namespace to its end: the last pass records that nothing blocks
	// any more before the namespace is finalized.
	w, err := cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", ns).String(),
		ResourceVersion: got.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s.mustKubectl("", "patch", "service", "held", "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	resolved := false
	for ev := range w.ResultChan() {
		if ev.Type == watch.Deleted {
			break
		}
		n, ok := ev.Object.(*corev1.Namespace)
		if !ok {
			t.Fatalf("watch event %s: %v", ev.Type, ev.Object)
		}
		if conditionIs(n, corev1.NamespaceContentRemaining, corev1.ConditionFalse, "ContentRemoved") &&
			conditionIs(n, corev1.NamespaceFinalizersRemaining, corev1.ConditionFalse, "ContentHasNoFinalizers") {
			resolved = true
		}
	}
	if !resolved {
		t.Errorf("no namespace update with NamespaceContentRemaining and NamespaceFinalizersRemaining False before the deletion")
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s after its watch ended: %v; want NotFound", ns, err)
	}
}

// conditionIs reports whether ns has a condition of type typ with that status and reason.
func conditionIs(ns *corev1.Namespace, typ corev1.NamespaceConditionType, status corev1.ConditionStatus, reason string) bool {
	for _, c := range ns.Status.Conditions {
		if c.Type == typ {
			return c.Status == status && c.Reason == reason
		}
	}
	return false
}
