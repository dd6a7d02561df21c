package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPrepareForCreate(t *testing.T) {
	p := newPod()
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.9"}
	PrepareForCreate(p)
	if p.Status.Phase != corev1.PodPending || p.Status.PodIP != "" || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status after PrepareForCreate = %+v; want Pending, no IP, BestEffort", p.Status)
	}
	if p.Generation != 1 {
		t.Errorf("generation after PrepareForCreate = %d; want 1", p.Generation)
	}
	// The generation moves on with the spec, not with the status.
	old := p.DeepCopy()
	up := p.DeepCopy()
	up.Status.Phase = corev1.PodRunning
	PrepareForUpdate(up, old)
	if up.Generation != 1 {
		t.Errorf("generation after a status-only update = %d; want 1", up.Generation)
	}
	up.Spec.ActiveDeadlineSeconds = new(int64)
	PrepareForUpdate(up, old)
	if up.Generation != 2 {
		t.Errorf("generation after a spec update = %d; want 2", up.Generation)
	}
	p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
	PrepareForCreate(p)
	if len(p.Status.Conditions) != 1 || p.Status.Conditions[0].Reason != corev1.PodReasonSchedulingGated {
		t.Errorf("conditions of gated pod = %+v; want one SchedulingGated", p.Status.Conditions)
	}
}

func TestQOSClass(t *testing.T) {
	res := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	tests := []struct {
		name       string
		containers []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{name: "nothing", containers: []corev1.ResourceRequirements{{}}, want: corev1.PodQOSBestEffort},
		{name: "only other resources", containers: []corev1.ResourceRequirements{{Requests: res("ephemeral-storage", "1Gi")}}, want: corev1.PodQOSBestEffort},
		{name: "requests only", containers: []corev1.ResourceRequirements{{Requests: res("cpu", "100m")}}, want: corev1.PodQOSBurstable},
		{
			name:       "limits equal requests",
			containers: []corev1.ResourceRequirements{{Requests: res("cpu", "1", "memory", "1Gi"), Limits: res("cpu", "1", "memory", "1Gi")}},
			want:       corev1.PodQOSGuaranteed,
		},
		{
			name:       "requests below limits",
			containers: []corev1.ResourceRequirements{{Requests: res("cpu", "500m", "memory", "1Gi"), Limits: res("cpu", "1", "memory", "1Gi")}},
			want:       corev1.PodQOSBurstable,
		},
		{
			name: "one container without limits",
			containers: []corev1.ResourceRequirements{
				{Requests: res("cpu", "1", "memory", "1Gi"), Limits: res("cpu", "1", "memory", "1Gi")},
				{},
			},
			want: corev1.PodQOSBurstable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := &corev1.PodSpec{}
			for _, r := range tc.containers {
				spec.Containers = append(spec.Containers, corev1.Container{Resources: r})
			}
			if got := qosClass(spec); got != tc.want {
				t.Errorf("qosClass = %s; want %s", got, tc.want)
			}
		})
	}
}

func TestPrepareForUpdates(t *testing.T) {
	old := storedPod()
	old.Status.Phase = corev1.PodRunning

	p := old.DeepCopy()
	p.Spec.Containers[0].Image = "registry.example/web:1.3"
	p.Status.Phase = corev1.PodFailed
	PrepareForUpdate(p, old)
	if p.Status.Phase != corev1.PodRunning || p.Spec.Containers[0].Image != "registry.example/web:1.3" {
		t.Errorf("PrepareForUpdate: phase %s image %s; want old status, new spec", p.Status.Phase, p.Spec.Containers[0].Image)
	}

	p = old.DeepCopy()
	p.Spec.Containers[0].Image = "registry.example/web:1.3"
	p.Status.Phase = corev1.PodSucceeded
	p.Status.QOSClass = ""
	PrepareForStatusUpdate(p, old)
	if p.Status.Phase != corev1.PodSucceeded || p.Spec.Containers[0].Image != old.Spec.Containers[0].Image || p.Status.QOSClass != old.Status.QOSClass {
		t.Errorf("PrepareForStatusUpdate: phase %s image %s qos %q; want new status, old spec, old QoS", p.Status.Phase, p.Spec.Containers[0].Image, p.Status.QOSClass)
	}
}
