package node

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Addresses in these tests: nodes live in 192.0.2.0/24 (internal) and
// 198.51.100.0/24 (external); pod CIDRs come from 10.244.0.0/16 and fd00::/48.

func validNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-a.example", ResourceVersion: "2"},
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24", "fd00:0:0:1::/64"}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "192.0.2.10"},
				{Type: corev1.NodeHostName, Address: "node-a"},
			},
		},
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name         string
		spec         corev1.NodeSpec
		wantPodCIDR  string
		wantPodCIDRs []string
	}{
		{name: "singular only", spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24"}, wantPodCIDR: "10.244.0.0/24", wantPodCIDRs: []string{"10.244.0.0/24"}},
		{name: "list only", spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24", "fd00::/64"}}, wantPodCIDR: "10.244.0.0/24", wantPodCIDRs: []string{"10.244.0.0/24", "fd00::/64"}},
		{name: "singular wins", spec: corev1.NodeSpec{PodCIDR: "10.244.2.0/24", PodCIDRs: []string{"10.244.0.0/24"}}, wantPodCIDR: "10.244.2.0/24", wantPodCIDRs: []string{"10.244.2.0/24"}},
		{name: "none", spec: corev1.NodeSpec{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{Spec: tc.spec}
			Default(n)
			if n.Spec.PodCIDR != tc.wantPodCIDR || !reflect.DeepEqual(n.Spec.PodCIDRs, tc.wantPodCIDRs) {
				t.Errorf("podCIDR, podCIDRs = %q, %v; want %q, %v", n.Spec.PodCIDR, n.Spec.PodCIDRs, tc.wantPodCIDR, tc.wantPodCIDRs)
			}
		})
	}
	n := validNode()
	Default(n)
	if !reflect.DeepEqual(n.Status.Allocatable, n.Status.Capacity) {
		t.Errorf("allocatable = %v; want capacity %v", n.Status.Allocatable, n.Status.Capacity)
	}
}

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(n *corev1.Node)
		want   []registrytest.WantErr
	}{
		{name: "valid", mutate: func(*corev1.Node) {}},
		{name: "no pod CIDRs", mutate: func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "", nil }},
		{
			name:   "name not a DNS subdomain",
			mutate: func(n *corev1.Node) { n.Name = "Node_A" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name"}},
		},
		{
			name:   "namespace set",
			mutate: func(n *corev1.Node) { n.Namespace = "default" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "metadata.namespace"}},
		},
		{
			name:   "pod CIDR not a CIDR",
			mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0"} },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.podCIDRs[0]",
				Detail: "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"}},
		},
		{
			name:   "pod CIDR with host bits",
			mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.1/24"} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.podCIDRs[0]"}},
		},
		{
			name:   "two CIDRs of one family",
			mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.244.2.0/24"} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.podCIDRs", Detail: "may specify no more than one CIDR for each IP family"}},
		},
		{
			name:   "three CIDRs",
			mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "fd00:0:0:1::/64", "10.244.1.0/24"} },
			want: []registrytest.WantErr{
				{Type: field.ErrorTypeInvalid, Field: "spec.podCIDRs"},
				{Type: field.ErrorTypeDuplicate, Field: "spec.podCIDRs[2]"},
			},
		},
		{
			name:   "taint without effect",
			mutate: func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "infra"}} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "metadata.taints[0].effect"}},
		},
		{
			name: "duplicate taint",
			mutate: func(n *corev1.Node) {
				n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}, {Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "metadata.taints[1]", Detail: "taints must be unique by key and effect pair"}},
		},
		{
			name:   "negative capacity",
			mutate: func(n *corev1.Node) { n.Status.Capacity[corev1.ResourceMemory] = resource.MustParse("-1Gi") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "status.capacity.memory", Detail: "must be greater than or equal to 0"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := validNode()
			tc.mutate(n)
			registrytest.CheckErrs(t, ValidateCreate(n), tc.want)
		})
	}
}

func TestValidateUpdates(t *testing.T) {
	tests := []struct {
		name       string
		oldMutate  func(n *corev1.Node)
		mutate     func(n *corev1.Node)
		want       []registrytest.WantErr
		wantStatus []registrytest.WantErr
	}{
		{name: "cordon", mutate: func(n *corev1.Node) { n.Spec.Unschedulable = true }},
		{
			name:      "pod CIDRs assigned once",
			oldMutate: func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "", nil },
		},
		{
			name:       "pod CIDRs changed",
			mutate:     func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.9.0/24"} },
			want:       []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.podCIDRs", Detail: `node updates may not change podCIDR except from "" to valid`}},
			wantStatus: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.podCIDRs"}},
		},
		{
			name:       "provider ID changed",
			oldMutate:  func(n *corev1.Node) { n.Spec.ProviderID = "svcnet://node-a" },
			mutate:     func(n *corev1.Node) { n.Spec.ProviderID = "svcnet://node-b" },
			want:       []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.providerID"}},
			wantStatus: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.providerID"}},
		},
		{
			name:       "duplicate address",
			mutate:     func(n *corev1.Node) { n.Status.Addresses = append(n.Status.Addresses, n.Status.Addresses[0]) },
			want:       []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "status.addresses[2]"}},
			wantStatus: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "status.addresses[2]"}},
		},
		{
			name:       "bad taint effect",
			mutate:     func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "NoRun"}} },
			want:       []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "metadata.taints[0].effect"}},
			wantStatus: []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "metadata.taints[0].effect"}},
		},
	}
	for _, tc := range tests {
		old := validNode()
		if tc.oldMutate != nil {
			tc.oldMutate(old)
		}
		n := old.DeepCopy()
		if tc.mutate != nil {
			tc.mutate(n)
		}
		t.Run(tc.name+"/main", func(t *testing.T) { registrytest.CheckErrs(t, ValidateUpdate(n, old), tc.want) })
		t.Run(tc.name+"/status", func(t *testing.T) { registrytest.CheckErrs(t, ValidateStatusUpdate(n, old), tc.wantStatus) })
	}
}

func TestPrepare(t *testing.T) {
	old := validNode()
	n := old.DeepCopy()
	n.Spec.Unschedulable = true
	n.Status.Addresses = nil
	PrepareForUpdate(n, old)
	if !n.Spec.Unschedulable || len(n.Status.Addresses) != 2 {
		t.Errorf("PrepareForUpdate: unschedulable=%v addresses=%v; want spec kept and old status", n.Spec.Unschedulable, n.Status.Addresses)
	}
	n = old.DeepCopy()
	n.Spec.Unschedulable = true
	n.Status.Addresses = nil
	PrepareForStatusUpdate(n, old)
	if n.Spec.Unschedulable || len(n.Status.Addresses) != 0 {
		t.Errorf("PrepareForStatusUpdate: unschedulable=%v addresses=%v; want old spec and new status", n.Spec.Unschedulable, n.Status.Addresses)
	}
}

func TestTableRow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ready := func(s corev1.ConditionStatus) []corev1.NodeCondition {
		return []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: s}}
	}
	tests := []struct {
		name   string
		mutate func(n *corev1.Node)
		want   []any
	}{
		{
			name: "ready worker",
			mutate: func(n *corev1.Node) {
				n.Status.Conditions = ready(corev1.ConditionTrue)
				n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian 13", KernelVersion: "6.12.0", ContainerRuntimeVersion: "svcnet://0.1"}
				n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "198.51.100.7"})
			},
			want: []any{"node-a", "Ready", "<none>", "3d", "v1.37.2", "192.0.2.10", "198.51.100.7", "Debian 13", "6.12.0", "svcnet://0.1"},
		},
		{
			name: "not ready control plane, cordoned",
			mutate: func(n *corev1.Node) {
				n.Status.Conditions = ready(corev1.ConditionUnknown)
				n.Spec.Unschedulable = true
				n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master", "node-role.kubernetes.io/": ""}
			},
			want: []any{"node-a", "NotReady,SchedulingDisabled", "control-plane,master", "3d", "", "192.0.2.10", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name:   "no conditions yet",
			mutate: func(n *corev1.Node) { n.Status.Addresses = nil },
			want:   []any{"node-a", "Unknown", "<none>", "3d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := validNode()
			n.Name = "node-a"
			n.CreationTimestamp = metav1.NewTime(now.Add(-72 * time.Hour))
			tc.mutate(n)
			if got := TableRow(n, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TableRow = %#v; want %#v", got, tc.want)
			}
		})
	}
	var names []string
	for _, c := range TableColumns() {
		names = append(names, c.Name)
	}
	want := []string{"Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v; want %v", names, want)
	}
}

func TestSelectableFields(t *testing.T) {
	n := validNode()
	n.Spec.Unschedulable = true
	want := fields.Set{"metadata.name": "node-a.example", "spec.unschedulable": "true"}
	if got := SelectableFields(n); !reflect.DeepEqual(got, want) {
		t.Errorf("SelectableFields = %v; want %v", got, want)
	}
}
