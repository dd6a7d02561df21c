package podgc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// The DisruptionTarget condition PodGC puts on a Pod whose node is gone, as
// kube-controller-manager writes it.
const (
	reasonDeletionByPodGC = "DeletionByPodGC"
	messageNodeGone       = "PodGC: node no longer exists"
)

// noticePod puts the node of pod in quarantine when the complete Node cache does
// not know it; [Controller.Run] looks at the Pods cached before that. A node
// already waiting keeps its earlier end: the quarantine runs from the first Pod
// seen on a missing node.
func (c *Controller) noticePod(pod *corev1.Pod) {
	if pod.Spec.NodeName == "" || !c.nodesSynced() {
		return
	}
	if _, err := c.nodes.Get(pod.Spec.NodeName); apierrors.IsNotFound(err) {
		c.orphans.AddAfter(pod.Spec.NodeName, c.quarantine)
	}
}

// processNextNode handles one node whose quarantine has ended; failures are
// retried with backoff, without a new quarantine.
func (c *Controller) processNextNode(ctx context.Context) bool {
	name, quit := c.orphans.Get()
	if quit {
		return false
	}
	defer c.orphans.Done(name)
	err := c.syncNode(ctx, name)
	c.metrics.nodeChecks.Inc()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("collect pods of missing node", "node", name, "err", err)
		}
		c.orphans.AddRateLimited(name)
		return true
	}
	c.orphans.Forget(name)
	return true
}

// syncNode collects the Pods bound to the named node if, after its quarantine,
// the node is neither in the cache nor in the API. Terminating Pods without
// finalizers are left to the Pod queue, which deletes them at once.
func (c *Controller) syncNode(ctx context.Context, name string) error {
	objs, err := c.podIdx.ByIndex(nodeNameIndex, name)
	if err != nil {
		return fmt.Errorf("pods of node %s: %w", name, err)
	}
	var pods []*corev1.Pod
	for _, obj := range objs {
		if p, ok := obj.(*corev1.Pod); ok && (p.DeletionTimestamp == nil || len(p.Finalizers) > 0) {
			pods = append(pods, p)
		}
	}
	if len(pods) == 0 {
		return nil
	}
	gone, err := c.nodeGone(ctx, name)
	if err != nil {
		return err
	}
	if !gone {
		c.log.Debug("node of pods exists after quarantine", "node", name)
		return nil
	}
	c.log.Info("node of pods does not exist: deleting them", "node", name, "pods", len(pods))
	var errs []error
	for _, p := range pods {
		if err := c.collectOrphan(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// collectOrphan marks pod, whose node is gone, Failed with a DisruptionTarget
// condition unless it has already finished, then deletes it with grace period 0.
// A terminating Pod held by finalizers is only marked: a delete cannot remove it.
// Both writes carry the Pod's UID as a precondition; a Pod gone or replaced
// meanwhile is no error.
func (c *Controller) collectOrphan(ctx context.Context, pod *corev1.Pod) error {
	if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		err := c.markFailed(ctx, pod)
		if apierrors.IsNotFound(err) || otherUID(err) {
			return nil // already gone, or replaced by a new Pod of the same name
		}
		if err != nil {
			c.metrics.errors.WithLabelValues(reasonOrphaned).Inc()
			return fmt.Errorf("mark pod %s/%s failed: %w", pod.Namespace, pod.Name, err)
		}
	}
	if pod.DeletionTimestamp != nil && len(pod.Finalizers) > 0 {
		return nil
	}
	return c.forceDelete(ctx, pod, reasonOrphaned)
}

// markFailed patches pod's status to phase Failed with the condition
// DisruptionTarget=True (reason DeletionByPodGC). The patch is a strategic merge
// patch from the cached status that names the Pod's UID, so the API server
// refuses it for a Pod recreated under the same name (see otherUID).
func (c *Controller) markFailed(ctx context.Context, pod *corev1.Pod) error {
	status := pod.Status.DeepCopy()
	status.Phase = corev1.PodFailed
	setCondition(status, corev1.PodCondition{
		Type:    corev1.DisruptionTarget,
		Status:  corev1.ConditionTrue,
		Reason:  reasonDeletionByPodGC,
		Message: messageNodeGone,
	})
	patch, err := statusPatch(pod.UID, &pod.Status, status)
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// otherUID reports whether err refuses a write for naming another UID than the
// stored object's. The API server answers a patch whose metadata.uid differs
// with 422 Invalid on metadata.uid ("field is immutable"), as kube-apiserver
// does; a conflict (a failed UID precondition) means the same.
func otherUID(err error) bool {
	if apierrors.IsConflict(err) {
		return true
	}
	if !apierrors.IsInvalid(err) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, cause := range status.Status().Details.Causes {
		if cause.Field == "metadata.uid" {
			return true
		}
	}
	return false
}

// setCondition puts cond into status, replacing the condition of its type. The
// transition time is now, or the old condition's when the status is unchanged.
func setCondition(status *corev1.PodStatus, cond corev1.PodCondition) {
	cond.LastTransitionTime = metav1.Now()
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != cond.Type {
			continue
		}
		if old.Status == cond.Status {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		*old = cond
		return
	}
	status.Conditions = append(status.Conditions, cond)
}

// statusPatch is the strategic merge patch that turns status old into updated,
// with uid as metadata.uid so the API server refuses it for another Pod.
func statusPatch(uid types.UID, old, updated *corev1.PodStatus) ([]byte, error) {
	before, err := json.Marshal(corev1.Pod{Status: *old})
	if err != nil {
		return nil, fmt.Errorf("encode pod status: %w", err)
	}
	after, err := json.Marshal(corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: *updated})
	if err != nil {
		return nil, fmt.Errorf("encode pod status: %w", err)
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(before, after, corev1.Pod{})
	if err != nil {
		return nil, fmt.Errorf("create pod status patch: %w", err)
	}
	return patch, nil
}
