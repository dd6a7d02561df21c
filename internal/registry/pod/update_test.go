package pod

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateUpdate(t *testing.T) {
	const forbidden = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`," +
		"`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
		"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	toleration := corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(30))}
	tests := []struct {
		name       string
		oldMutate  func(p *corev1.Pod)
		mutate     func(p *corev1.Pod)
		want       []registrytest.WantErr
		wantDetail string // prefix of the last error's detail
	}{
		{name: "no change", mutate: func(*corev1.Pod) {}},
		{name: "labels change", mutate: func(p *corev1.Pod) { p.Labels["version"] = "2" }},
		{name: "image change", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "registry.example/web:1.3" }},
		{name: "deadline set", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(600)) }},
		{
			name:      "deadline lowered",
			oldMutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(600)) },
			mutate:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) },
		},
		{
			name:      "deadline raised",
			oldMutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) },
			mutate:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(600)) },
			want:      []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.activeDeadlineSeconds", Detail: "must be less than or equal to previous value"}},
		},
		{
			name:      "deadline removed",
			oldMutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) },
			mutate:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			want:      []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.activeDeadlineSeconds", Detail: "must not update from a positive integer to nil value"}},
		},
		{name: "toleration added", mutate: func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, toleration) }},
		{
			name:      "toleration seconds changed",
			oldMutate: func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{toleration} },
			mutate:    func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(5)) },
		},
		{
			name:      "toleration removed",
			oldMutate: func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{toleration} },
			mutate:    func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.tolerations",
				Detail: "existing toleration can not be modified except its tolerationSeconds"}},
		},
		{
			name:      "scheduling gate removed",
			oldMutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}} },
			mutate:    func(p *corev1.Pod) { p.Spec.SchedulingGates = nil },
		},
		{
			name:   "scheduling gate added",
			mutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/b"}} },
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.schedulingGates[0].name",
				Detail: "only deletion is allowed, but found new scheduling gate 'example.com/b'"}},
		},
		{
			name:       "container port changed",
			mutate:     func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 },
			want:       []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec"}},
			wantDetail: forbidden,
		},
		{
			name: "resources changed",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}
			},
			want:       []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec"}},
			wantDetail: forbidden,
		},
		{
			name:       "node name set through main resource",
			mutate:     func(p *corev1.Pod) { p.Spec.NodeName = "node-a" },
			want:       []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec"}},
			wantDetail: forbidden,
		},
		{
			name: "container added",
			mutate: func(p *corev1.Pod) {
				c := *p.Spec.Containers[0].DeepCopy()
				c.Name, c.Ports = "sidecar", nil
				p.Spec.Containers = append(p.Spec.Containers, c)
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.containers", Detail: "pod updates may not add or remove containers"}},
		},
		{
			name:   "new image still validated",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.containers[0].image"}},
		},
		{
			name:   "name is immutable",
			mutate: func(p *corev1.Pod) { p.Name = "web-1" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "field is immutable"}},
		},
		{
			name:      "negative grace period may become 1",
			oldMutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-1)) },
			mutate:    func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(1)) },
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
			errs := ValidateUpdate(p, old)
			registrytest.CheckErrs(t, errs, tc.want)
			if tc.wantDetail != "" && !strings.HasPrefix(errs[len(errs)-1].Detail, tc.wantDetail) {
				t.Errorf("detail = %q; want prefix %q", errs[len(errs)-1].Detail, tc.wantDetail)
			}
		})
	}
}

func TestValidateUpdateReportsDiff(t *testing.T) {
	old := storedPod()
	p := old.DeepCopy()
	p.Spec.Hostname = "renamed"
	errs := ValidateUpdate(p, old)
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, "renamed") {
		t.Fatalf("ValidateUpdate = %v; want one error whose diff mentions the new hostname", errs)
	}
}
