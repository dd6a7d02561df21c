package namespace

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the status conditions the controller maintains on a
// terminating namespace, in the order kube-controller-manager adds them.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// resolved is the reason and message of each condition type's False form: what
// it says when nothing of its kind blocks the deletion.
var resolved = map[corev1.NamespaceConditionType]struct{ reason, message string }{
	corev1.NamespaceDeletionDiscoveryFailure: {"ResourcesDiscovered", "All resources successfully discovered"},
	corev1.NamespaceDeletionGVParsingFailure: {"ParsedGroupVersions", "All legacy kube types successfully parsed"},
	corev1.NamespaceDeletionContentFailure:   {"ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	corev1.NamespaceContentRemaining:         {"ContentRemoved", "All content successfully removed"},
	corev1.NamespaceFinalizersRemaining:      {"ContentHasNoFinalizers", "All content-preserving finalizers finished"},
}

// content is what one pass over a terminating namespace found. The errors are
// the ones the API (or discovery) returned, unwrapped, because their text goes
// into the conditions as Kubernetes puts it there.
type content struct {
	// discoveryErr is discovery's error; the pass went on with the resources
	// discovery did return.
	discoveryErr error
	// parseErr is the error parsing a discovered group version; then no
	// resource was emptied.
	parseErr error
	// deleteErrs has at most one error per resource that could not be
	// emptied (or listed), including objects left without a finalizer or
	// grace period to explain them.
	deleteErrs []error
	// remaining counts the objects left, per resource (only resources with some).
	remaining map[schema.GroupVersionResource]int
	// finalizers counts the objects left holding each finalizer.
	finalizers map[string]int
}

// left returns how many objects remain.
func (c *content) left() int {
	n := 0
	for _, v := range c.remaining {
		n += v
	}
	return n
}

// err joins every error of the pass, or returns nil.
func (c *content) err() error {
	return errors.Join(append([]error{c.discoveryErr, c.parseErr}, c.deleteErrs...)...)
}

// conditions returns the five deletion conditions that describe c, one of each
// type in conditionTypes order, all with LastTransitionTime now. A condition is
// True when its kind of trouble blocks the deletion and False otherwise.
func (c *content) conditions(now metav1.Time) []corev1.NamespaceCondition {
	out := make([]corev1.NamespaceCondition, 0, len(conditionTypes))
	for _, t := range conditionTypes {
		reason, message, blocking := c.explain(t)
		cond := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: resolved[t].reason, Message: resolved[t].message}
		if blocking {
			cond.Status, cond.Reason, cond.Message = corev1.ConditionTrue, reason, message
		}
		out = append(out, cond)
	}
	return out
}

// explain returns the reason and message of condition type t when c makes it
// True, and whether it does.
func (c *content) explain(t corev1.NamespaceConditionType) (reason, message string, blocking bool) {
	switch t {
	case corev1.NamespaceDeletionDiscoveryFailure:
		if c.discoveryErr == nil {
			return "", "", false
		}
		var failed *discovery.ErrGroupDiscoveryFailed
		if errors.As(c.discoveryErr, &failed) {
			return "DiscoveryFailed", fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(failed.Groups), c.discoveryErr), true
		}
		return "DiscoveryFailed", c.discoveryErr.Error(), true
	case corev1.NamespaceDeletionGVParsingFailure:
		if c.parseErr == nil {
			return "", "", false
		}
		return "GroupVersionParsingFailed", c.parseErr.Error(), true
	case corev1.NamespaceDeletionContentFailure:
		if len(c.deleteErrs) == 0 {
			return "", "", false
		}
		msgs := make([]string, 0, len(c.deleteErrs))
		for _, err := range c.deleteErrs {
			msgs = append(msgs, err.Error())
		}
		slices.Sort(msgs)
		return "ContentDeletionFailed", fmt.Sprintf("Failed to delete all resource types, %d remaining: %s", len(msgs), strings.Join(msgs, ", ")), true
	case corev1.NamespaceContentRemaining:
		var parts []string
		// Only resources with instances left are recorded. The core group is
		// empty, hence "services. has 1 resource instances".
		for gvr, n := range c.remaining {
			parts = append(parts, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
		if len(parts) == 0 {
			return "", "", false
		}
		slices.Sort(parts)
		return "SomeResourcesRemain", "Some resources are remaining: " + strings.Join(parts, ", "), true
	case corev1.NamespaceFinalizersRemaining:
		var parts []string
		for f, n := range c.finalizers {
			parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
		}
		if len(parts) == 0 {
			return "", "", false
		}
		slices.Sort(parts)
		return "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: " + strings.Join(parts, ", "), true
	}
	return "", "", false
}

// setConditions merges want into status as Kubernetes does and reports whether
// status changed. A type status lacks is appended; one whose status, reason or
// message differs is updated in place, its LastTransitionTime moving only when
// its status flips. Conditions of other types are kept.
func setConditions(status *corev1.NamespaceStatus, want []corev1.NamespaceCondition) (changed bool) {
	for _, w := range want {
		i := slices.IndexFunc(status.Conditions, func(c corev1.NamespaceCondition) bool { return c.Type == w.Type })
		if i < 0 {
			status.Conditions = append(status.Conditions, w)
			changed = true
			continue
		}
		old := &status.Conditions[i]
		if old.Status == w.Status && old.Reason == w.Reason && old.Message == w.Message {
			continue
		}
		if old.Status != w.Status {
			old.LastTransitionTime = w.LastTransitionTime
		}
		old.Status, old.Reason, old.Message = w.Status, w.Reason, w.Message
		changed = true
	}
	return changed
}
