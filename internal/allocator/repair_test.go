package allocator

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestPlanRepairPorts(t *testing.T) {
	r := mustPortRange(t, "30000-32767")
	tests := []struct {
		name    string
		records []int
		held    map[int][]string
		inRange func(int) bool
		want    RepairPlan[int]
	}{
		{
			name:    "consistent",
			records: []int{30001, 30002},
			held:    map[int][]string{30001: {"default/a"}, 30002: {"default/b"}},
			inRange: r.Contains,
			want:    RepairPlan[int]{},
		},
		{
			name:    "leaked records are freed",
			records: []int{30003, 30001, 30002},
			held:    map[int][]string{30001: {"default/a"}},
			inRange: r.Contains,
			want:    RepairPlan[int]{Free: []int{30002, 30003}},
		},
		{
			name:    "missing records are restored",
			records: []int{30001},
			held:    map[int][]string{30001: {"default/a"}, 30500: {"default/b"}, 30100: {"kube-system/c"}},
			inRange: r.Contains,
			want:    RepairPlan[int]{Restore: []int{30100, 30500}},
		},
		{
			name:    "one service on TCP and UDP is not a duplicate",
			records: []int{30053},
			held:    map[int][]string{30053: {"kube-system/dns", "kube-system/dns"}},
			inRange: r.Contains,
			want:    RepairPlan[int]{},
		},
		{
			name:    "two services share a port",
			records: nil,
			held:    map[int][]string{30080: {"ns/web", "default/api", "ns/web"}},
			inRange: r.Contains,
			want: RepairPlan[int]{
				Restore:    []int{30080},
				Duplicates: []Holding[int]{{Value: 30080, Owners: []string{"default/api", "ns/web"}}},
			},
		},
		{
			name:    "held out of range is reported and its record kept",
			records: []int{20000},
			held:    map[int][]string{20000: {"default/old"}, 20001: {"default/older"}},
			inRange: r.Contains,
			want: RepairPlan[int]{OutOfRange: []Holding[int]{
				{Value: 20000, Owners: []string{"default/old"}},
				{Value: 20001, Owners: []string{"default/older"}},
			}},
		},
		{
			name:    "unheld out of range record is freed",
			records: []int{20000, 30001},
			held:    map[int][]string{30001: {"default/a"}},
			inRange: r.Contains,
			want:    RepairPlan[int]{Free: []int{20000}},
		},
		{
			name:    "value with no owners counts as not held",
			records: []int{30001},
			held:    map[int][]string{30001: {}, 30002: nil},
			inRange: r.Contains,
			want:    RepairPlan[int]{Free: []int{30001}},
		},
		{
			name:    "repeated records count once",
			records: []int{30009, 30009},
			held:    nil,
			inRange: r.Contains,
			want:    RepairPlan[int]{Free: []int{30009}},
		},
		{
			name:    "nil inRange accepts everything",
			records: nil,
			held:    map[int][]string{80: {"default/a"}},
			inRange: nil,
			want:    RepairPlan[int]{Restore: []int{80}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanRepair(tt.records, tt.held, tt.inRange)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PlanRepair(%v, %v) =\n%+v\nwant\n%+v", tt.records, tt.held, got, tt.want)
			}
			if got.Empty() != reflect.DeepEqual(tt.want, RepairPlan[int]{}) {
				t.Errorf("Empty() = %t for %+v", got.Empty(), got)
			}
		})
	}
}

func TestPlanRepairIPs(t *testing.T) {
	r := mustIPRange(t, "10.96.0.0/12")
	ip := netip.MustParseAddr
	tests := []struct {
		name    string
		records []netip.Addr
		held    map[netip.Addr][]string
		want    RepairPlan[netip.Addr]
	}{
		{
			name:    "mixed",
			records: []netip.Addr{ip("10.96.0.1"), ip("10.96.0.200"), ip("10.96.0.30")},
			held: map[netip.Addr][]string{
				ip("10.96.0.1"):  {"default/kubernetes"},
				ip("10.96.0.10"): {"kube-system/kube-dns"},
				ip("10.96.0.5"):  {"a/x", "b/y"},
				ip("10.96.0.0"):  {"c/network"},
				ip("192.0.2.1"):  {"c/outside"},
			},
			want: RepairPlan[netip.Addr]{
				Free:       []netip.Addr{ip("10.96.0.30"), ip("10.96.0.200")},
				Restore:    []netip.Addr{ip("10.96.0.5"), ip("10.96.0.10")},
				Duplicates: []Holding[netip.Addr]{{Value: ip("10.96.0.5"), Owners: []string{"a/x", "b/y"}}},
				OutOfRange: []Holding[netip.Addr]{
					{Value: ip("10.96.0.0"), Owners: []string{"c/network"}},
					{Value: ip("192.0.2.1"), Owners: []string{"c/outside"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanRepair(tt.records, tt.held, r.Contains)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PlanRepair(%v, %v) =\n%+v\nwant\n%+v", tt.records, tt.held, got, tt.want)
			}
		})
	}
}
