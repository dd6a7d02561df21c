package endpointslice

import (
	"fmt"
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Addresses in these tests: 10.0.0.0/8 and 2001:db8::/32 are ordinary
// endpoint addresses; loopback, link-local and unspecified ones are rejected.

func ptr[T any](v T) *T { return &v }

func validSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abcde", Namespace: "default"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{"10.0.0.1"},
			NodeName:  ptr("node-a"),
			Hostname:  ptr("web-0"),
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}},
	}
}

func TestValidateCreate(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
		}
		return out
	}
	tests := []struct {
		name   string
		mutate func(s *discoveryv1.EndpointSlice)
		want   []registrytest.WantErr
	}{
		{name: "valid", mutate: func(*discoveryv1.EndpointSlice) {}},
		{name: "placeholder without endpoints or ports", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints, s.Ports = nil, nil }},
		{
			name: "ipv6 slice",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.AddressType = discoveryv1.AddressTypeIPv6
				s.Endpoints[0].Addresses = []string{"2001:db8::1"}
			},
		},
		{
			name: "fqdn slice",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.AddressType = discoveryv1.AddressTypeFQDN
				s.Endpoints[0].Addresses = []string{"backend.example.com"}
			},
		},
		{name: "port may be nil", mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Port = nil }},
		{name: "port zero", mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Port = ptr(int32(0)) }},
		{name: "one unnamed port", mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Name = ptr("") }},
		{
			name:   "name not a DNS subdomain",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Name = "Web" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name"}},
		},
		{
			name:   "address type missing",
			mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "addressType"}},
		},
		{
			name:   "address type unknown",
			mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "IP" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "addressType", Detail: `supported values: "FQDN", "IPv4", "IPv6"`}},
		},
		{
			name:   "endpoint without addresses",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "endpoints[0].addresses", Detail: "must contain at least 1 address"}},
		},
		{
			name:   "too many addresses",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = many(101) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeTooMany, Field: "endpoints[0].addresses"}},
		},
		{
			name: "too many endpoints",
			mutate: func(s *discoveryv1.EndpointSlice) {
				for len(s.Endpoints) <= 1000 {
					s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.1.1.1"}})
				}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeTooMany, Field: "endpoints", Detail: "must have at most 1000 items"}},
		},
		{
			name:   "ipv6 address in ipv4 slice",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"2001:db8::1"} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].addresses[0]", Detail: "must be an IPv4 address"}},
		},
		{
			name: "ipv4 address in ipv6 slice",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.AddressType = discoveryv1.AddressTypeIPv6
				s.Endpoints[0].Addresses = []string{"10.0.0.1"}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].addresses[0]", Detail: "must be an IPv6 address"}},
		},
		{
			name:   "loopback address",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"127.0.0.1"} },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].addresses[0]",
				Detail: "may not be in the loopback range (127.0.0.0/8, ::1/128)"}},
		},
		{
			name: "ipv6 link-local address",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.AddressType = discoveryv1.AddressTypeIPv6
				s.Endpoints[0].Addresses = []string{"fe80::1"}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].addresses[0]",
				Detail: "may not be in the link-local range (169.254.0.0/16, fe80::/10)"}},
		},
		{
			name:   "not an IP",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"10.0.0"} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].addresses[0]", Detail: "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}},
		},
		{
			name: "fqdn not fully qualified",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.AddressType = discoveryv1.AddressTypeFQDN
				s.Endpoints[0].Addresses = []string{"backend"}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].addresses[0]"}},
		},
		{
			name:   "node name invalid",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].NodeName = ptr("Node A") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].nodeName"}},
		},
		{
			name:   "hostname not a DNS label",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Hostname = ptr("web.0") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].hostname"}},
		},
		{
			name: "too many zone hints",
			mutate: func(s *discoveryv1.EndpointSlice) {
				h := &discoveryv1.EndpointHints{}
				for i := range 9 {
					h.ForZones = append(h.ForZones, discoveryv1.ForZone{Name: fmt.Sprintf("zone-%d", i)})
				}
				s.Endpoints[0].Hints = h
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeTooMany, Field: "endpoints[0].hints.forZones"}},
		},
		{
			name: "duplicate zone hint",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.Endpoints[0].Hints = &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "a"}, {Name: "a"}}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "endpoints[0].hints.forZones[1].name"}},
		},
		{
			name: "node hint invalid",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.Endpoints[0].Hints = &discoveryv1.EndpointHints{ForNodes: []discoveryv1.ForNode{{Name: "Node_A"}}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "endpoints[0].hints.forNodes[0].name"}},
		},
		{
			name: "too many ports",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.Ports = nil
				for i := range 101 {
					s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr(fmt.Sprintf("p%d", i)), Protocol: ptr(corev1.ProtocolTCP)})
				}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeTooMany, Field: "ports", Detail: "must have at most 100 items"}},
		},
		{
			name:   "port name not a DNS label",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Name = ptr("Http") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "ports[0].name"}},
		},
		{
			name: "duplicate port names",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr("http"), Port: ptr(int32(8081)), Protocol: ptr(corev1.ProtocolTCP)})
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "ports[1].name"}},
		},
		{
			name: "two unnamed ports",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.Ports = []discoveryv1.EndpointPort{{Name: ptr(""), Protocol: ptr(corev1.ProtocolTCP)}, {Protocol: ptr(corev1.ProtocolUDP)}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "ports[1].name"}},
		},
		{
			name:   "port out of range",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Port = ptr(int32(70000)) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "ports[0].port", Detail: "must be between 0 and 65535, inclusive"}},
		},
		{
			name:   "protocol missing",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Protocol = nil },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "ports[0].protocol"}},
		},
		{
			name:   "protocol unknown",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Protocol = ptr(corev1.Protocol("tcp")) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "ports[0].protocol"}},
		},
		{
			name:   "appProtocol invalid",
			mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].AppProtocol = ptr("a b") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "ports[0].appProtocol"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSlice()
			tc.mutate(s)
			registrytest.CheckErrs(t, ValidateCreate(s), tc.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *discoveryv1.EndpointSlice)
		want   []registrytest.WantErr
	}{
		{name: "endpoints change", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"10.0.0.2"} }},
		{
			name: "address type is immutable",
			mutate: func(s *discoveryv1.EndpointSlice) {
				s.AddressType = discoveryv1.AddressTypeIPv6
				s.Endpoints = nil
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "addressType", Detail: "field is immutable"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validSlice()
			old.ResourceVersion = "7"
			s := old.DeepCopy()
			tc.mutate(s)
			registrytest.CheckErrs(t, ValidateUpdate(s, old), tc.want)
		})
	}
}
