package endpoints

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

func TestTableRow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	addrs := func(n int) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for i := range n {
			out = append(out, corev1.EndpointAddress{IP: fmt.Sprintf("10.0.0.%d", i+1)})
		}
		return out
	}
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		created time.Time
		want    []any
	}{
		{name: "no subsets", created: now.Add(-90 * time.Second), want: []any{"ep", "<none>", "90s"}},
		{
			name:    "one address",
			subsets: []corev1.EndpointSubset{{Addresses: addrs(1), Ports: []corev1.EndpointPort{{Port: 80}}}},
			created: now.Add(-3 * time.Hour),
			want:    []any{"ep", "10.0.0.1:80", "3h"},
		},
		{
			name:    "ipv6 is bracketed",
			subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "2001:db8::1"}}, Ports: []corev1.EndpointPort{{Port: 443}}}},
			want:    []any{"ep", "[2001:db8::1]:443", "<unknown>"},
		},
		{
			name:    "headless without ports",
			subsets: []corev1.EndpointSubset{{Addresses: addrs(2)}},
			want:    []any{"ep", "10.0.0.1,10.0.0.2", "<unknown>"},
		},
		{
			name:    "more than three",
			subsets: []corev1.EndpointSubset{{Addresses: addrs(4), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}}},
			want:    []any{"ep", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 more...", "<unknown>"},
		},
		{
			name:    "not-ready addresses are not listed",
			subsets: []corev1.EndpointSubset{{NotReadyAddresses: addrs(1), Ports: []corev1.EndpointPort{{Port: 80}}}},
			want:    []any{"ep", "", "<unknown>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ep"}, Subsets: tc.subsets}
			if !tc.created.IsZero() {
				ep.CreationTimestamp = metav1.NewTime(tc.created)
			}
			if got := TableRow(ep, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TableRow = %#v; want %#v", got, tc.want)
			}
		})
	}
}

func TestTableColumns(t *testing.T) {
	cols := TableColumns()
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Endpoints", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("column names = %v; want %v", names, want)
	}
	if cols[0].Format != "name" {
		t.Errorf("Name column format = %q; want name", cols[0].Format)
	}
	if n := len(TableRow(&corev1.Endpoints{}, time.Now())); n != len(cols) {
		t.Errorf("row has %d cells; want %d", n, len(cols))
	}
}

func TestSelectableFields(t *testing.T) {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns"}}
	want := fields.Set{"metadata.name": "a", "metadata.namespace": "ns"}
	if got := SelectableFields(ep); !reflect.DeepEqual(got, want) {
		t.Errorf("SelectableFields = %v; want %v", got, want)
	}
}

func TestDefault(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}, {Port: 2, Protocol: corev1.ProtocolUDP}}}}}
	Default(ep)
	got := []corev1.Protocol{ep.Subsets[0].Ports[0].Protocol, ep.Subsets[0].Ports[1].Protocol}
	if want := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}; !reflect.DeepEqual(got, want) {
		t.Errorf("protocols after Default = %v; want %v", got, want)
	}
}
