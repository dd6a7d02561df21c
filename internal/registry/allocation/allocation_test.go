package allocation

import (
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnet/svcnet/internal/allocator"
	"github.com/svcnet/svcnet/internal/storage"
)

// Addresses in these tests come from the ranges 10.96.0.0/24 (primary) and
// fd00:10:96::/120, and ports from 30000-30099.

func newAllocations(t *testing.T, usedIPs []string, usedPorts []int) *Allocations {
	t.Helper()
	ips, err := allocator.ParseIPRanges("10.96.0.0/24,fd00:10:96::/120")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := allocator.ParsePortRange("30000-30099")
	if err != nil {
		t.Fatal(err)
	}
	a := New(nil, ips, ports, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, s := range usedIPs {
		a.usedIPs.Add(netip.MustParseAddr(s))
	}
	for _, p := range usedPorts {
		a.usedPorts.Add(p)
	}
	return a
}

func svc(typ corev1.ServiceType, clusterIP string, nodePorts ...int32) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Spec:       corev1.ServiceSpec{Type: typ, ClusterIP: clusterIP},
	}
	if clusterIP != "" && clusterIP != corev1.ClusterIPNone {
		s.Spec.ClusterIPs = []string{clusterIP}
	}
	if len(nodePorts) == 0 {
		nodePorts = []int32{0}
	}
	for i, np := range nodePorts {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: string(rune('a' + i)), Port: int32(80 + i), Protocol: corev1.ProtocolTCP, NodePort: np})
	}
	return s
}

func opKeys(ops []storage.Op) []string {
	var keys []string
	for _, o := range ops {
		prefix := "put "
		if o.Delete {
			prefix = "del "
		}
		keys = append(keys, prefix+o.Key)
	}
	slices.Sort(keys)
	return keys
}

func TestAllocateCreate(t *testing.T) {
	tests := []struct {
		name      string
		svc       *corev1.Service
		usedIPs   []string
		usedPorts []int
		wantKeys  []string // exact keys when values are requested; "" entries are skipped
		wantOps   int
		wantErr   string
	}{
		{name: "dynamic cluster IP", svc: svc(corev1.ServiceTypeClusterIP, ""), wantOps: 1},
		{name: "requested cluster IP", svc: svc(corev1.ServiceTypeClusterIP, "10.96.0.5"), wantKeys: []string{"put /registry/allocations/clusterips/10.96.0.5"}},
		{name: "requested IP taken", svc: svc(corev1.ServiceTypeClusterIP, "10.96.0.5"), usedIPs: []string{"10.96.0.5"}, wantErr: `spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to allocate IP 10.96.0.5: provided IP is already allocated`},
		{name: "requested IP out of range", svc: svc(corev1.ServiceTypeClusterIP, "10.97.0.5"), wantErr: "the provided IP (10.97.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/24"},
		{name: "headless holds nothing", svc: svc(corev1.ServiceTypeClusterIP, corev1.ClusterIPNone), wantOps: 0},
		{name: "external name holds nothing", svc: svc(corev1.ServiceTypeExternalName, ""), wantOps: 0},
		{name: "node port dynamic", svc: svc(corev1.ServiceTypeNodePort, "10.96.0.7"), wantOps: 2},
		{name: "node port requested", svc: svc(corev1.ServiceTypeNodePort, "10.96.0.7", 30010), wantKeys: []string{"put /registry/allocations/clusterips/10.96.0.7", "put /registry/allocations/nodeports/30010"}},
		{name: "node port out of range", svc: svc(corev1.ServiceTypeNodePort, "10.96.0.7", 8065), wantErr: "spec.ports[0].nodePort: Invalid value: 8065: provided port is not in the valid range. The range of valid ports is 30000-30099"},
		{name: "node port taken", svc: svc(corev1.ServiceTypeNodePort, "10.96.0.7", 30010), usedPorts: []int{30010}, wantErr: "provided port is already allocated"},
		{name: "IP full", svc: svc(corev1.ServiceTypeClusterIP, ""), usedIPs: allIPs(), wantErr: "range is full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAllocations(t, tc.usedIPs, tc.usedPorts)
			ops, err := a.allocate(tc.svc, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("allocate() err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("allocate() err = %v", err)
			}
			if tc.wantKeys != nil {
				if got := opKeys(ops); !slices.Equal(got, tc.wantKeys) {
					t.Errorf("ops = %v; want %v", got, tc.wantKeys)
				}
			} else if len(ops) != tc.wantOps {
				t.Errorf("ops = %v; want %d", opKeys(ops), tc.wantOps)
			}
			for _, o := range ops {
				if o.Expect != storage.Absent {
					t.Errorf("op %s expects %d; want Absent", o.Key, o.Expect)
				}
			}
			if needsClusterIP(tc.svc) && tc.svc.Spec.ClusterIP == "" {
				t.Errorf("cluster IP not filled")
			}
			if needsNodePorts(tc.svc) && tc.svc.Spec.Ports[0].NodePort == 0 {
				t.Errorf("node port not filled")
			}
		})
	}
}

func allIPs() []string {
	var out []string
	for i := 1; i < 255; i++ {
		out = append(out, netip.AddrFrom4([4]byte{10, 96, 0, byte(i)}).String())
	}
	return out
}

func TestSamePortNumberTwoProtocolsSharesNodePort(t *testing.T) {
	a := newAllocations(t, nil, nil)
	s := svc(corev1.ServiceTypeNodePort, "10.96.0.9")
	s.Spec.Ports = []corev1.ServicePort{
		{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
		{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP},
	}
	ops, err := a.allocate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Ports[0].NodePort != s.Spec.Ports[1].NodePort {
		t.Errorf("node ports = %d, %d; want one shared port", s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort)
	}
	if len(ops) != 2 {
		t.Errorf("ops = %v; want one IP and one port record", opKeys(ops))
	}
}

func TestUpdateTransitions(t *testing.T) {
	tests := []struct {
		name     string
		old, new *corev1.Service
		want     []string
	}{
		{
			name: "NodePort to ClusterIP releases the port",
			old:  svc(corev1.ServiceTypeNodePort, "10.96.0.3", 30001),
			new:  svc(corev1.ServiceTypeClusterIP, "10.96.0.3"),
			want: []string{"del /registry/allocations/nodeports/30001"},
		},
		{
			name: "ClusterIP to ExternalName releases the IP",
			old:  svc(corev1.ServiceTypeClusterIP, "10.96.0.3"),
			new:  svc(corev1.ServiceTypeExternalName, ""),
			want: []string{"del /registry/allocations/clusterips/10.96.0.3"},
		},
		{
			name: "changing a requested node port swaps records",
			old:  svc(corev1.ServiceTypeNodePort, "10.96.0.3", 30001),
			new:  svc(corev1.ServiceTypeNodePort, "10.96.0.3", 30002),
			want: []string{"del /registry/allocations/nodeports/30001", "put /registry/allocations/nodeports/30002"},
		},
		{
			name: "no change, no ops",
			old:  svc(corev1.ServiceTypeNodePort, "10.96.0.3", 30001),
			new:  svc(corev1.ServiceTypeNodePort, "10.96.0.3", 30001),
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAllocations(t, []string{"10.96.0.3"}, []int{30001})
			ops, err := a.BeforeUpdate(t.Context(), tc.new, tc.old, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := opKeys(ops); !slices.Equal(got, tc.want) {
				t.Errorf("ops = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestDeleteReleasesEverything(t *testing.T) {
	a := newAllocations(t, nil, nil)
	s := svc(corev1.ServiceTypeLoadBalancer, "10.96.0.4", 30001)
	s.Spec.HealthCheckNodePort = 30002
	ops, err := a.BeforeDelete(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"del /registry/allocations/clusterips/10.96.0.4", "del /registry/allocations/nodeports/30001", "del /registry/allocations/nodeports/30002"}
	if got := opKeys(ops); !slices.Equal(got, want) {
		t.Errorf("ops = %v; want %v", got, want)
	}
}

func TestOnConflictMarksUsed(t *testing.T) {
	a := newAllocations(t, nil, nil)
	a.OnConflict(IPPrefix + "10.96.0.8")
	a.OnConflict(PortPrefix + "30005")
	if !a.usedIPs.Has(netip.MustParseAddr("10.96.0.8")) || !a.usedPorts.Has(30005) {
		t.Errorf("conflicting values not marked used")
	}
	_, err := a.allocate(svc(corev1.ServiceTypeClusterIP, "10.96.0.8"), nil)
	if !apierrors.IsInvalid(err) {
		t.Errorf("requesting a value that lost a race: err = %v; want Invalid", err)
	}
}

func TestAllocateDualStack(t *testing.T) {
	v4, v6 := corev1.IPv4Protocol, corev1.IPv6Protocol
	withFamilies := func(s *corev1.Service, ips []string, fams ...corev1.IPFamily) *corev1.Service {
		s.Spec.IPFamilies = fams
		s.Spec.ClusterIPs = ips
		if len(ips) > 0 {
			s.Spec.ClusterIP = ips[0]
		}
		return s
	}
	tests := []struct {
		name         string
		svc, old     *corev1.Service
		wantKeys     []string // exact keys; nil: only wantFamilies is checked
		wantPuts     int
		wantFamilies []corev1.IPFamily // family of each resulting clusterIP
		wantErr      string
	}{
		{name: "both families picked, IPv4 first", svc: withFamilies(svc(corev1.ServiceTypeClusterIP, ""), nil, v4, v6),
			wantPuts: 2, wantFamilies: []corev1.IPFamily{v4, v6}},
		{name: "both families picked, IPv6 first", svc: withFamilies(svc(corev1.ServiceTypeClusterIP, ""), nil, v6, v4),
			wantPuts: 2, wantFamilies: []corev1.IPFamily{v6, v4}},
		{name: "IPv6 only on a dual-stack cluster", svc: withFamilies(svc(corev1.ServiceTypeClusterIP, ""), nil, v6),
			wantPuts: 1, wantFamilies: []corev1.IPFamily{v6}},
		{name: "both requested", svc: withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.5", "fd00:10:96::5"}, v4, v6),
			wantKeys:     []string{"put /registry/allocations/clusterips/10.96.0.5", "put /registry/allocations/clusterips/fd00:10:96::5"},
			wantFamilies: []corev1.IPFamily{v4, v6}},
		{name: "primary requested, secondary picked", svc: withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.5"}, v4, v6),
			wantPuts: 2, wantFamilies: []corev1.IPFamily{v4, v6}},
		{name: "secondary out of range", svc: withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.5", "fd00:99::5"}, v4, v6),
			wantErr: `spec.clusterIPs: Invalid value: ["10.96.0.5","fd00:99::5"]: failed to allocate IP fd00:99::5: the provided IP (fd00:99::5) is not in the valid range. The range of valid IPs is fd00:10:96::/120`},
		{name: "upgrade to dual-stack picks the secondary only",
			old:      withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.3"}, v4),
			svc:      withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.3"}, v4, v6),
			wantPuts: 1, wantFamilies: []corev1.IPFamily{v4, v6}},
		{name: "downgrade releases the secondary",
			old:      withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.3", "fd00:10:96::3"}, v4, v6),
			svc:      withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.3"}, v4),
			wantKeys: []string{"del /registry/allocations/clusterips/fd00:10:96::3"}, wantFamilies: []corev1.IPFamily{v4}},
		{name: "delete releases both",
			old:      withFamilies(svc(corev1.ServiceTypeClusterIP, ""), []string{"10.96.0.3", "fd00:10:96::3"}, v4, v6),
			wantKeys: []string{"del /registry/allocations/clusterips/10.96.0.3", "del /registry/allocations/clusterips/fd00:10:96::3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAllocations(t, []string{"10.96.0.3", "fd00:10:96::3"}, nil)
			var ops []storage.Op
			var err error
			switch {
			case tc.svc == nil:
				ops, err = a.BeforeDelete(t.Context(), tc.old)
			case tc.old == nil:
				ops, err = a.BeforeCreate(t.Context(), tc.svc, false)
			default:
				ops, err = a.BeforeUpdate(t.Context(), tc.svc, tc.old, false)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := opKeys(ops)
			if tc.wantKeys != nil && !slices.Equal(got, tc.wantKeys) {
				t.Errorf("ops = %v; want %v", got, tc.wantKeys)
			}
			if tc.wantKeys == nil && len(ops) != tc.wantPuts {
				t.Errorf("ops = %v; want %d puts", got, tc.wantPuts)
			}
			if tc.svc == nil {
				return
			}
			var fams []corev1.IPFamily
			for _, ip := range tc.svc.Spec.ClusterIPs {
				fams = append(fams, allocator.AddrFamily(netip.MustParseAddr(ip)))
			}
			if !slices.Equal(fams, tc.wantFamilies) || tc.svc.Spec.ClusterIP != tc.svc.Spec.ClusterIPs[0] {
				t.Errorf("clusterIP %s, clusterIPs %v; want families %v, clusterIP = clusterIPs[0]",
					tc.svc.Spec.ClusterIP, tc.svc.Spec.ClusterIPs, tc.wantFamilies)
			}
			for _, ip := range tc.svc.Spec.ClusterIPs {
				if !a.rangeFor(allocator.AddrFamily(netip.MustParseAddr(ip))).Contains(netip.MustParseAddr(ip)) {
					t.Errorf("clusterIP %s outside its family's range", ip)
				}
			}
		})
	}
}

// TestNodePortsOfOnePortNumber follows kube-apiserver's initNodePorts: the ports
// of one service port number share a node port, also when a later one asks for
// it and an earlier one does not.
func TestNodePortsOfOnePortNumber(t *testing.T) {
	a := newAllocations(t, nil, nil)
	s := svc(corev1.ServiceTypeNodePort, "10.96.0.7")
	s.Spec.Ports = []corev1.ServicePort{
		{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, NodePort: 30053},
		{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP},
		{Name: "http-udp", Port: 80, Protocol: corev1.ProtocolUDP},
	}
	ops, err := a.allocate(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Spec.Ports
	if p[0].NodePort != 30053 || p[1].NodePort != 30053 {
		t.Errorf("port 53 node ports %d and %d; want 30053 for both", p[0].NodePort, p[1].NodePort)
	}
	if p[2].NodePort == 0 || p[3].NodePort != p[2].NodePort {
		t.Errorf("port 80 node ports %d and %d; want one allocated for both", p[2].NodePort, p[3].NodePort)
	}
	if len(ops) != 3 { // cluster IP, 30053, the allocated one
		t.Errorf("ops = %v; want 3 records", opKeys(ops))
	}
}

// TestHealthCheckNodePortRefusals gives kube-apiserver's internal errors.
func TestHealthCheckNodePortRefusals(t *testing.T) {
	lbLocal := func(hc int32) *corev1.Service {
		s := svc(corev1.ServiceTypeLoadBalancer, "10.96.0.4", 30001)
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = hc
		return s
	}
	var all []int
	for p := 30000; p < 30100; p++ {
		if p != 30001 {
			all = append(all, p)
		}
	}
	for _, tc := range []struct {
		name  string
		svc   *corev1.Service
		used  []int
		want  string
		is500 bool
	}{
		{"requested and taken", lbLocal(30002), []int{30002}, "Internal error occurred: failed to allocate requested HealthCheck NodePort 30002: provided port is already allocated", true},
		{"none left", lbLocal(0), all, "Internal error occurred: failed to allocate a HealthCheck NodePort 0: range is full", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newAllocations(t, nil, tc.used).allocate(tc.svc, nil)
			if err == nil || err.Error() != tc.want || apierrors.IsInternalError(err) != tc.is500 {
				t.Errorf("err = %v; want %q", err, tc.want)
			}
		})
	}
}
