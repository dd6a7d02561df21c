package endpointslice

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

func TestTableRow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		slice discoveryv1.EndpointSlice
		want  []any
	}{
		{
			name:  "placeholder",
			slice: discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4},
			want:  []any{"s", "IPv4", "<unset>", "<unset>", "5m"},
		},
		{
			name: "ports by number, name or star",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Port: ptr(int32(80))}, {Name: ptr("metrics")}, {}},
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
			},
			want: []any{"s", "IPv4", "80,metrics,*", "10.0.0.1", "5m"},
		},
		{
			name: "more than three",
			slice: discoveryv1.EndpointSlice{
				AddressType: discoveryv1.AddressTypeIPv6,
				Ports:       []discoveryv1.EndpointPort{{Port: ptr(int32(1))}, {Port: ptr(int32(2))}, {Port: ptr(int32(3))}, {Port: ptr(int32(4))}},
				Endpoints: []discoveryv1.Endpoint{
					{Addresses: []string{"2001:db8::1", "2001:db8::2"}},
					{Addresses: []string{"2001:db8::3"}},
					{Addresses: []string{"2001:db8::4"}},
					{Addresses: []string{"2001:db8::5"}},
				},
			},
			want: []any{"s", "IPv6", "1,2,3 + 1 more...", "2001:db8::1,2001:db8::2,2001:db8::3 + 2 more...", "5m"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.slice
			s.Name = "s"
			s.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Minute))
			if got := TableRow(&s, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TableRow = %#v; want %#v", got, tc.want)
			}
		})
	}
}

func TestTableColumns(t *testing.T) {
	var names []string
	for _, c := range TableColumns() {
		if c.Description == "" {
			t.Errorf("column %s has no description", c.Name)
		}
		names = append(names, c.Name)
	}
	if want := []string{"Name", "AddressType", "Ports", "Endpoints", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("column names = %v; want %v", names, want)
	}
}

func TestDefault(t *testing.T) {
	s := &discoveryv1.EndpointSlice{
		Ports:     []discoveryv1.EndpointPort{{Port: ptr(int32(53))}, {Protocol: ptr(corev1.ProtocolUDP)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
	}
	Default(s)
	for i, p := range s.Ports {
		if p.Name == nil || *p.Name != "" {
			t.Errorf("ports[%d].name = %v; want empty string", i, p.Name)
		}
	}
	if got := *s.Ports[0].Protocol; got != corev1.ProtocolTCP {
		t.Errorf("ports[0].protocol = %s; want TCP", got)
	}
	if got := *s.Ports[1].Protocol; got != corev1.ProtocolUDP {
		t.Errorf("ports[1].protocol = %s; want UDP", got)
	}
	c := s.Endpoints[0].Conditions
	if c.Ready != nil || c.Serving != nil || c.Terminating != nil {
		t.Errorf("conditions = %+v; want all nil", c)
	}
}

func TestPrepareDropsTopology(t *testing.T) {
	s := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{{DeprecatedTopology: map[string]string{"a": "b"}}}}
	PrepareForCreate(s)
	if s.Endpoints[0].DeprecatedTopology != nil {
		t.Errorf("PrepareForCreate kept deprecatedTopology %v", s.Endpoints[0].DeprecatedTopology)
	}
	s.Endpoints[0].DeprecatedTopology = map[string]string{"a": "b"}
	PrepareForUpdate(s, &discoveryv1.EndpointSlice{})
	if s.Endpoints[0].DeprecatedTopology != nil {
		t.Errorf("PrepareForUpdate kept deprecatedTopology %v", s.Endpoints[0].DeprecatedTopology)
	}
}

func TestSelectableFields(t *testing.T) {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns"}}
	want := fields.Set{"metadata.name": "a", "metadata.namespace": "ns"}
	if got := SelectableFields(s); !reflect.DeepEqual(got, want) {
		t.Errorf("SelectableFields = %v; want %v", got, want)
	}
}

// TestGeneration follows kube-apiserver: 1 on create, one more on an update
// that changes anything but metadata, or the labels.
func TestGeneration(t *testing.T) {
	base := func() *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "s", Generation: 4, Labels: map[string]string{"a": "b"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}},
		}
	}
	created := base()
	PrepareForCreate(created)
	if created.Generation != 1 {
		t.Errorf("generation on create = %d; want 1", created.Generation)
	}
	for _, tc := range []struct {
		name string
		edit func(*discoveryv1.EndpointSlice)
		want int64
	}{
		{"nothing", func(*discoveryv1.EndpointSlice) {}, 4},
		{"an annotation", func(s *discoveryv1.EndpointSlice) { s.Annotations = map[string]string{"x": "y"} }, 4},
		{"an endpoint", func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses[0] = "10.0.0.2" }, 5},
		{"a port", func(s *discoveryv1.EndpointSlice) { s.Ports = []discoveryv1.EndpointPort{{}} }, 5},
		{"a label", func(s *discoveryv1.EndpointSlice) { s.Labels["c"] = "d" }, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(s)
			PrepareForUpdate(s, base())
			if s.Generation != tc.want {
				t.Errorf("generation = %d; want %d", s.Generation, tc.want)
			}
		})
	}
}
