package pod

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

func TestTableRow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ready := corev1.ContainerStatus{Name: "web", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	waiting := func(reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
	}
	exited := func(code int32, reason string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
	}
	deleting := metav1.NewTime(now)
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []any // NAME, READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES
	}{
		{
			name:   "pending",
			mutate: func(p *corev1.Pod) {},
			want:   []any{"web-0", "0/1", "Pending", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "running",
			mutate: func(p *corev1.Pod) {
				p.Spec.NodeName = "node-a"
				p.Status.Phase = corev1.PodRunning
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{ready}
			},
			want: []any{"web-0", "1/1", "Running", "0", "2m", "10.244.0.5", "node-a", "<none>", "<none>"},
		},
		{
			name: "crash looping with a recent restart",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				s := waiting("CrashLoopBackOff")
				s.RestartCount = 4
				s.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(now.Add(-30 * time.Second))}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{s}
			},
			want: []any{"web-0", "0/1", "CrashLoopBackOff", "4 (30s ago)", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "killed by a signal",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodFailed
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}}}}
			},
			want: []any{"web-0", "0/1", "Signal:9", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "initializing",
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "a"}, {Name: "b"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: exited(0, "Completed")}, {Name: "b"}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("PodInitializing")}
			},
			want: []any{"web-0", "0/1", "Init:1/2", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "init container failed",
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "a"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: exited(2, "")}}
			},
			want: []any{"web-0", "0/1", "Init:ExitCode:2", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "sidecar counts as a container",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", Ready: true, Started: ptr(true), RestartCount: 1,
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{ready}
			},
			want: []any{"web-0", "2/2", "Running", "1", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "completed container while another runs",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "job"})
				p.Status.ContainerStatuses = []corev1.ContainerStatus{ready, {Name: "job", State: exited(0, "Completed")}}
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
			},
			want: []any{"web-0", "1/2", "NotReady", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "terminating",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.DeletionTimestamp = &deleting
				p.Status.ContainerStatuses = []corev1.ContainerStatus{ready}
			},
			want: []any{"web-0", "1/1", "Terminating", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "deleted on a lost node",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Status.Reason = nodeLostReason
				p.DeletionTimestamp = &deleting
			},
			want: []any{"web-0", "0/1", "Unknown", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "succeeded pod being deleted keeps its phase",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodSucceeded
				p.DeletionTimestamp = &deleting
			},
			want: []any{"web-0", "0/1", "Succeeded", "0", "2m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "scheduling gated, nominated, with readiness gates",
			mutate: func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
					{Type: "example.com/lb", Status: corev1.ConditionTrue},
				}
				p.Status.NominatedNodeName = "node-b"
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}}
			},
			want: []any{"web-0", "0/1", "SchedulingGated", "0", "2m", "<none>", "<none>", "node-b", "1/2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := storedPod()
			p.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Minute))
			tc.mutate(p)
			if got := TableRow(p, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TableRow = %#v; want %#v", got, tc.want)
			}
		})
	}
}

func TestTableColumns(t *testing.T) {
	var names, wide []string
	for _, c := range TableColumns() {
		names = append(names, c.Name)
		if c.Priority == 1 {
			wide = append(wide, c.Name)
		}
	}
	if want := []string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v; want %v", names, want)
	}
	if want := []string{"IP", "Node", "Nominated Node", "Readiness Gates"}; !reflect.DeepEqual(wide, want) {
		t.Errorf("wide columns = %v; want %v", wide, want)
	}
}

func TestSelectableFields(t *testing.T) {
	p := storedPod()
	p.Spec.NodeName = "node-a"
	p.Spec.HostNetwork = true
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}
	want := fields.Set{
		"metadata.name":            "web-0",
		"metadata.namespace":       "default",
		"spec.nodeName":            "node-a",
		"spec.restartPolicy":       "Always",
		"spec.schedulerName":       "default-scheduler",
		"spec.serviceAccountName":  "",
		"spec.hostNetwork":         "true",
		"status.phase":             "Running",
		"status.podIP":             "10.244.0.5",
		"status.podIPs":            "10.244.0.5,fd00::5",
		"status.nominatedNodeName": "",
	}
	if got := SelectableFields(p); !reflect.DeepEqual(got, want) {
		t.Errorf("SelectableFields = %v; want %v", got, want)
	}
	// kube-proxy style selector: pods on this node that are running.
	sel := fields.ParseSelectorOrDie("spec.nodeName=node-a,status.phase!=Failed")
	if !sel.Matches(SelectableFields(p)) {
		t.Errorf("selector %s does not match the pod", sel)
	}
}
