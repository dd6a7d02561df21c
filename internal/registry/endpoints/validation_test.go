package endpoints

import (
	"encoding/json"
	"errors"
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"io"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Addresses in these tests: 10.0.0.0/8 and 2001:db8::/32 are ordinary
// endpoint addresses; 127/8, 169.254/16, 224.0.0/24, fe80::/10 and the
// unspecified addresses are the special ranges the validation rejects.

func validEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "my-service", Namespace: "default"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.1.2.3"}},
			Ports:     []corev1.EndpointPort{{Port: 9376, Protocol: corev1.ProtocolTCP}},
		}},
	}
}

func ptr[T any](v T) *T { return &v }

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ep *corev1.Endpoints)
		want   []registrytest.WantErr
	}{
		{name: "valid", mutate: func(*corev1.Endpoints) {}},
		{
			name: "ipv6 address and hostname",
			mutate: func(ep *corev1.Endpoints) {
				ep.Subsets[0].Addresses = []corev1.EndpointAddress{{IP: "2001:db8::1", Hostname: "web-0", NodeName: ptr("node-a.example")}}
			},
		},
		{
			name:   "headless subset without ports",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports = nil },
		},
		{
			name: "only not-ready addresses",
			mutate: func(ep *corev1.Endpoints) {
				ep.Subsets[0].NotReadyAddresses, ep.Subsets[0].Addresses = ep.Subsets[0].Addresses, nil
			},
		},
		{
			name:   "name not a DNS subdomain",
			mutate: func(ep *corev1.Endpoints) { ep.Name = "My_Service" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name"}},
		},
		{
			name:   "namespace missing",
			mutate: func(ep *corev1.Endpoints) { ep.Namespace = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "metadata.namespace"}},
		},
		{
			name:   "subset without addresses",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses = nil },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "subsets[0]", Detail: "must specify `addresses` or `notReadyAddresses`"}},
		},
		{
			name:   "loopback address",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "127.0.0.1" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip",
				Detail: "may not be in the loopback range (127.0.0.0/8, ::1/128)"}},
		},
		{
			name:   "ipv6 loopback",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "::1" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip",
				Detail: "may not be in the loopback range (127.0.0.0/8, ::1/128)"}},
		},
		{
			name:   "link-local unicast",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "169.254.169.254" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip",
				Detail: "may not be in the link-local range (169.254.0.0/16, fe80::/10)"}},
		},
		{
			name:   "ipv6 link-local unicast",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "fe80::1" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip",
				Detail: "may not be in the link-local range (169.254.0.0/16, fe80::/10)"}},
		},
		{
			name: "link-local multicast in not-ready addresses",
			mutate: func(ep *corev1.Endpoints) {
				ep.Subsets[0].NotReadyAddresses = []corev1.EndpointAddress{{IP: "224.0.0.251"}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].notReadyAddresses[0].ip",
				Detail: "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"}},
		},
		{
			name:   "unspecified address",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "0.0.0.0" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip",
				Detail: "may not be unspecified (0.0.0.0)"}},
		},
		{
			name:   "non-canonical ipv6 is accepted",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "2001:DB8:0::1" },
		},
		{
			name:   "leading zeros",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "010.1.2.3" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip", Detail: "must not have leading 0s"}},
		},
		{
			name:   "global multicast is allowed",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "239.1.2.3" },
		},
		{
			name:   "not an IP",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "my-host" },
			want: []registrytest.WantErr{
				{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip", Detail: "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"},
				{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip", Detail: "must be a valid IP address"},
			},
		},
		{
			name:   "hostname not a DNS label",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].Hostname = "web.0" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].hostname"}},
		},
		{
			name:   "node name invalid",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].NodeName = ptr("Node_A") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].nodeName"}},
		},
		{
			name: "two ports need names",
			mutate: func(ep *corev1.Endpoints) {
				ep.Subsets[0].Ports = []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: "TCP"}, {Port: 443, Protocol: "TCP"}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "subsets[0].ports[1].name"}},
		},
		{
			name: "duplicate port names",
			mutate: func(ep *corev1.Endpoints) {
				ep.Subsets[0].Ports = []corev1.EndpointPort{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "http", Port: 81, Protocol: "TCP"}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "subsets[0].ports[1].name"}},
		},
		{
			name:   "port name not a DNS label",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports[0].Name = "HTTP" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].ports[0].name"}},
		},
		{
			name:   "port zero",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports[0].Port = 0 },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].ports[0].port", Detail: "must be between 1 and 65535, inclusive"}},
		},
		{
			name:   "port too large",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports[0].Port = 65536 },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].ports[0].port"}},
		},
		{
			name:   "protocol missing",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports[0].Protocol = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "subsets[0].ports[0].protocol"}},
		},
		{
			name:   "protocol unknown",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports[0].Protocol = "ICMP" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "subsets[0].ports[0].protocol",
				Detail: `supported values: "SCTP", "TCP", "UDP"`}},
		},
		{
			name:   "appProtocol not a qualified name",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Ports[0].AppProtocol = ptr("not valid") },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].ports[0].appProtocol"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := validEndpoints()
			tc.mutate(ep)
			registrytest.CheckErrs(t, ValidateCreate(ep), tc.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ep *corev1.Endpoints)
		want   []registrytest.WantErr
	}{
		{name: "new address", mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "10.1.2.4" }},
		{name: "node name changes", mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].NodeName = ptr("node-b") }},
		{
			name:   "name is immutable",
			mutate: func(ep *corev1.Endpoints) { ep.Name = "other" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "field is immutable"}},
		},
		{
			name:   "new object still validated",
			mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "127.0.0.2" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "subsets[0].addresses[0].ip"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := validEndpoints()
			old.ResourceVersion = "5"
			ep := old.DeepCopy()
			tc.mutate(ep)
			registrytest.CheckErrs(t, ValidateUpdate(ep, old), tc.want)
		})
	}
}

// TestExampleManifest checks that the Endpoints of the selector-less Service
// example (a copy of the project's examples/selectorless-with-endpoints.yaml)
// applies unchanged: 1.2.3.4 is an ordinary address.
func TestExampleManifest(t *testing.T) {
	ep := loadEndpoints(t, "testdata/selectorless-with-endpoints.yaml")
	ep.Namespace = "default"
	Default(ep)
	PrepareForCreate(ep)
	if errs := ValidateCreate(ep); len(errs) != 0 {
		t.Fatalf("ValidateCreate(example) = %v; want no errors", errs)
	}
	if got := ep.Subsets[0].Ports[0].Protocol; got != corev1.ProtocolTCP {
		t.Errorf("defaulted protocol = %q; want TCP", got)
	}
}

// loadEndpoints returns the first Endpoints document of a multi-document YAML file.
func loadEndpoints(t *testing.T, path string) *corev1.Endpoints {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open example: %v", err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		var meta metav1.TypeMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		if meta.Kind != "Endpoints" {
			continue
		}
		ep := &corev1.Endpoints{}
		if err := json.Unmarshal(raw, ep); err != nil {
			t.Fatalf("decode Endpoints in %s: %v", path, err)
		}
		return ep
	}
	t.Fatalf("no Endpoints in %s", path)
	return nil
}

func TestValidateNonSpecialIP(t *testing.T) {
	tests := []struct {
		name string
		ip   string
		want []registrytest.WantErr
	}{
		{name: "ordinary v4", ip: "1.2.3.4"},
		{name: "ordinary v6", ip: "2001:db8::5"},
		{name: "private v4", ip: "192.168.0.10"},
		{name: "v6 unspecified", ip: "::", want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "ip", Detail: "may not be unspecified (::)"}}},
		{name: "v6 link-local multicast", ip: "ff02::1", want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "ip",
			Detail: "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"}}},
		{name: "garbage", ip: "1.2.3", want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "ip", Detail: "must be a valid IP address"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			registrytest.CheckErrs(t, ValidateNonSpecialIP(tc.ip, field.NewPath("ip")), tc.want)
		})
	}
}
