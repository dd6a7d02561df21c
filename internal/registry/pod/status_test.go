package pod

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateStatusUpdate(t *testing.T) {
	running := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP, p.Status.PodIPs = "10.244.0.5", []corev1.PodIP{{IP: "10.244.0.5"}}
		p.Status.HostIP, p.Status.HostIPs = "192.0.2.1", []corev1.HostIP{{IP: "192.0.2.1"}}
	}
	terminated := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
	tests := []struct {
		name      string
		oldMutate func(p *corev1.Pod)
		mutate    func(p *corev1.Pod)
		want      []registrytest.WantErr
	}{
		{name: "kubelet reports running", mutate: running},
		{
			name: "dual-stack pod",
			mutate: func(p *corev1.Pod) {
				running(p)
				p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::5"})
			},
		},
		{
			name: "custom condition type",
			mutate: func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/gate", Status: corev1.ConditionTrue}}
			},
		},
		{
			name: "condition type not a qualified name",
			mutate: func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: "bad gate", Status: corev1.ConditionTrue}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.conditions[0].Type"}},
		},
		{
			name:   "unknown phase",
			mutate: func(p *corev1.Pod) { p.Status.Phase = "Sleeping" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "status.phase",
				Detail: `supported values: "Pending", "Running", "Succeeded", "Failed", "Unknown"`}},
		},
		{
			name:   "pod IP not an IP",
			mutate: func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "10.244.0", []corev1.PodIP{{IP: "10.244.0"}} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.podIPs[0]"}},
		},
		{
			name: "podIPs disagree with podIP",
			mutate: func(p *corev1.Pod) {
				running(p)
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.6"}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.podIPs[0].ip", Detail: "must be equal to `podIP`"}},
		},
		{
			name: "two IPv4 pod IPs",
			mutate: func(p *corev1.Pod) {
				running(p)
				p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "10.244.0.6"})
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.podIPs", Detail: "may specify no more than one IP for each IP family"}},
		},
		{
			name: "repeated pod IP",
			mutate: func(p *corev1.Pod) {
				running(p)
				p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "10.244.0.5"})
			},
			want: []registrytest.WantErr{
				{Type: field.ErrorTypeInvalid, Field: "status.podIPs"},
				{Type: field.ErrorTypeDuplicate, Field: "status.podIPs[1]"},
			},
		},
		{
			name: "hostIPs disagree with hostIP",
			mutate: func(p *corev1.Pod) {
				running(p)
				p.Status.HostIP = "192.0.2.2"
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.hostIPs[0].ip", Detail: "must be equal to `hostIP`"}},
		},
		{
			name:   "QoS class changed",
			mutate: func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.qosClass", Detail: "field is immutable"}},
		},
		{
			name:   "nominated node invalid",
			mutate: func(p *corev1.Pod) { p.Status.NominatedNodeName = "Node A" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.nominatedNodeName"}},
		},
		{
			name:   "node name changed",
			mutate: func(p *corev1.Pod) { p.Spec.NodeName = "node-b" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "status.nodeName", Detail: "may not be changed directly"}},
		},
		{
			name: "completed container restarts under Never",
			oldMutate: func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: terminated}}
			},
			mutate: func(p *corev1.Pod) {
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "status.containerStatuses[0].state", Detail: "may not be transitioned to non-terminated state"}},
		},
		{
			name: "completed container restarts under Always",
			oldMutate: func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: terminated}}
			},
			mutate: func(p *corev1.Pod) {
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedPod()
			if tc.oldMutate != nil {
				tc.oldMutate(old)
			}
			p := old.DeepCopy()
			tc.mutate(p)
			registrytest.CheckErrs(t, ValidateStatusUpdate(p, old), tc.want)
		})
	}
}
