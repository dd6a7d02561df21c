package pod

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// schedulingGatedMessage explains the PodScheduled condition of a gated pod.
const schedulingGatedMessage = "Scheduling is blocked due to non-empty scheduling gates"

// PrepareForCreate starts the pod at generation 1 and resets the status a client
// sent: a new pod is Pending, with its QoS class computed from the container
// resources, and a pod with scheduling gates says so in its PodScheduled
// condition.
func PrepareForCreate(pod *corev1.Pod) {
	pod.Generation = 1
	pod.Status = corev1.PodStatus{
		Phase:    corev1.PodPending,
		QOSClass: qosClass(&pod.Spec),
	}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: schedulingGatedMessage,
		}}
	}
}

// PrepareForUpdate keeps the stored status (it changes only through the status
// subresource) and moves the generation on when the spec changed.
func PrepareForUpdate(pod, old *corev1.Pod) {
	pod.Status = old.Status
	if !equality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		pod.Generation = old.Generation + 1
	}
}

// PrepareForStatusUpdate keeps the stored spec and owner references, and keeps
// the QoS class when a client (an old kubelet) dropped it.
func PrepareForStatusUpdate(pod, old *corev1.Pod) {
	pod.Spec = old.Spec
	pod.OwnerReferences = old.OwnerReferences
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = old.Status.QOSClass
	}
}
