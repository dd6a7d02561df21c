package endpointslice

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestAddressTypes(t *testing.T) {
	v4, v6 := discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6
	cases := []struct {
		name      string
		families  []corev1.IPFamily
		clusterIP string
		want      []discoveryv1.AddressType
	}{
		{name: "ipFamilies", families: []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}, clusterIP: "fd00::1", want: []discoveryv1.AddressType{v6, v4}},
		{name: "single", families: []corev1.IPFamily{corev1.IPv4Protocol}, clusterIP: "10.0.0.1", want: []discoveryv1.AddressType{v4}},
		{name: "cluster IP family", clusterIP: "fd00::1", want: []discoveryv1.AddressType{v6}},
		{name: "cluster IPv4", clusterIP: "10.0.0.1", want: []discoveryv1.AddressType{v4}},
		{name: "old headless", clusterIP: corev1.ClusterIPNone, want: []discoveryv1.AddressType{v4, v6}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := service("web", func(s *corev1.Service) { s.Spec.IPFamilies, s.Spec.ClusterIP = tc.families, tc.clusterIP })
			if diff := cmp.Diff(tc.want, addressTypes(svc)); diff != "" {
				t.Errorf("address types (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodAddresses(t *testing.T) {
	cases := []struct {
		name   string
		ips    []string
		podIP  string
		family discoveryv1.AddressType
		want   []string
	}{
		{name: "IPv4 of dual stack", ips: []string{"10.0.0.1", "fd00::1"}, family: discoveryv1.AddressTypeIPv4, want: []string{"10.0.0.1"}},
		{name: "IPv6 canonicalised", ips: []string{"10.0.0.1", "FD00:0:0::1"}, family: discoveryv1.AddressTypeIPv6, want: []string{"fd00::1"}},
		{name: "leading zeros read as decimal", ips: []string{"010.000.000.001"}, family: discoveryv1.AddressTypeIPv4, want: []string{"10.0.0.1"}},
		{name: "IPv4-mapped IPv6 is IPv4", ips: []string{"::ffff:10.0.0.1"}, family: discoveryv1.AddressTypeIPv4, want: []string{"10.0.0.1"}},
		{name: "podIP without podIPs", podIP: "10.0.0.7", family: discoveryv1.AddressTypeIPv4, want: []string{"10.0.0.7"}},
		{name: "garbage and special addresses skipped", ips: []string{"x", "127.0.0.1", "169.254.0.1", "0.0.0.0", "fe80::1"},
			family: discoveryv1.AddressTypeIPv4},
		{name: "no address of the family", ips: []string{"10.0.0.1"}, family: discoveryv1.AddressTypeIPv6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{Status: corev1.PodStatus{PodIP: tc.podIP}}
			for _, ip := range tc.ips {
				p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
			}
			if diff := cmp.Diff(tc.want, podAddresses(p, tc.family, nil)); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodEndpointConditions(t *testing.T) {
	cases := []struct {
		name    string
		mods    []func(*corev1.Pod)
		publish bool
		want    string // ready serving terminating
	}{
		{name: "ready", want: "true true false"},
		{name: "not ready", mods: []func(*corev1.Pod){notReady}, want: "false false false"},
		{name: "no ready condition", mods: []func(*corev1.Pod){func(p *corev1.Pod) { p.Status.Conditions = nil }}, want: "false false false"},
		{name: "terminating ready", mods: []func(*corev1.Pod){terminating}, want: "false true true"},
		{name: "publishNotReadyAddresses", mods: []func(*corev1.Pod){notReady, terminating}, publish: true, want: "true false true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = tc.publish })
			d := podEndpoint(newArena(1), pod("p", "web", "10.0.0.1", tc.mods...), svc, discoveryv1.AddressTypeIPv4, "")
			c := d.ep.Conditions
			got := fmtBools(*c.Ready, *c.Serving, *c.Terminating)
			if got != tc.want {
				t.Errorf("ready serving terminating = %s, want %s", got, tc.want)
			}
		})
	}
}

func fmtBools(bs ...bool) string {
	out := ""
	for i, b := range bs {
		if i > 0 {
			out += " "
		}
		if b {
			out += "true"
		} else {
			out += "false"
		}
	}
	return out
}

func TestFindPort(t *testing.T) {
	p := pod("p", "web", "10.0.0.1", func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "d", Ports: []corev1.ContainerPort{
			{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
		}})
	})
	cases := []struct {
		name   string
		port   corev1.ServicePort
		want   int32
		wantOK bool
	}{
		{name: "number", port: corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9000), Protocol: corev1.ProtocolTCP}, want: 9000, wantOK: true},
		{name: "unset means the service port", port: corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}, want: 80, wantOK: true},
		{name: "name in second container", port: corev1.ServicePort{Port: 53, TargetPort: intstr.FromString("dns"), Protocol: corev1.ProtocolUDP}, want: 5353, wantOK: true},
		{name: "name with other protocol", port: corev1.ServicePort{Port: 53, TargetPort: intstr.FromString("dns"), Protocol: corev1.ProtocolTCP}},
		{name: "unknown name", port: corev1.ServicePort{Port: 53, TargetPort: intstr.FromString("nope"), Protocol: corev1.ProtocolTCP}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findPort(p, &tc.port)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("findPort = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestHintsFor(t *testing.T) {
	cases := []struct {
		name  string
		dist  *string
		ready bool
		node  string
		zone  string
		want  *discoveryv1.EndpointHints
	}{
		{name: "unset", ready: true, node: "n", zone: "z"},
		{name: "PreferClose", dist: ptr.To(corev1.ServiceTrafficDistributionPreferClose), ready: true, node: "n", zone: "z",
			want: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z"}}}},
		{name: "PreferSameNode", dist: ptr.To(corev1.ServiceTrafficDistributionPreferSameNode), ready: true, node: "n", zone: "z",
			want: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z"}}, ForNodes: []discoveryv1.ForNode{{Name: "n"}}}},
		{name: "PreferSameNode without zone", dist: ptr.To(corev1.ServiceTrafficDistributionPreferSameNode), ready: true, node: "n",
			want: &discoveryv1.EndpointHints{ForNodes: []discoveryv1.ForNode{{Name: "n"}}}},
		{name: "no zone", dist: ptr.To(corev1.ServiceTrafficDistributionPreferSameZone), ready: true, node: "n"},
		{name: "not ready", dist: ptr.To(corev1.ServiceTrafficDistributionPreferSameZone), node: "n", zone: "z"},
		{name: "unknown value", dist: ptr.To("PreferMars"), ready: true, node: "n", zone: "z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, hintsFor(tc.dist, tc.ready, tc.node, tc.zone)); diff != "" {
				t.Errorf("hints (-want +got):\n%s", diff)
			}
		})
	}
}
