package endpoints

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestRepack(t *testing.T) {
	a, b, c := corev1.EndpointAddress{IP: "10.0.0.1"}, corev1.EndpointAddress{IP: "10.0.0.2"}, corev1.EndpointAddress{IP: "10.0.0.10"}
	http, dns := tcp("http", 80), corev1.EndpointPort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}
	tests := []struct {
		name string
		in   []corev1.EndpointSubset
		want []corev1.EndpointSubset
	}{{
		name: "empty",
		in:   nil,
		want: []corev1.EndpointSubset{},
	}, {
		name: "duplicates merge and addresses sort by text",
		in: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{b}, Ports: []corev1.EndpointPort{http}},
			{Addresses: []corev1.EndpointAddress{c, a}, Ports: []corev1.EndpointPort{http}},
			{Addresses: []corev1.EndpointAddress{a}, Ports: []corev1.EndpointPort{http}},
		},
		want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{a, c, b}, Ports: []corev1.EndpointPort{http}}},
	}, {
		name: "not ready wins over ready for the same port",
		in: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{a}, Ports: []corev1.EndpointPort{http}},
			{NotReadyAddresses: []corev1.EndpointAddress{a}, Ports: []corev1.EndpointPort{http}},
		},
		want: []corev1.EndpointSubset{{NotReadyAddresses: []corev1.EndpointAddress{a}, Ports: []corev1.EndpointPort{http}}},
	}, {
		name: "ports offered by the same addresses share a subset",
		in: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{a, b}, Ports: []corev1.EndpointPort{http}},
			{Addresses: []corev1.EndpointAddress{b, a}, Ports: []corev1.EndpointPort{dns}},
			{Addresses: []corev1.EndpointAddress{c}, Ports: []corev1.EndpointPort{http}},
		},
		want: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{a, b}, Ports: []corev1.EndpointPort{dns}},
			{Addresses: []corev1.EndpointAddress{a, c, b}, Ports: []corev1.EndpointPort{http}},
		},
	}, {
		name: "port-less subsets survive",
		in: []corev1.EndpointSubset{
			{Addresses: []corev1.EndpointAddress{b}},
			{NotReadyAddresses: []corev1.EndpointAddress{a}},
		},
		want: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{b}, NotReadyAddresses: []corev1.EndpointAddress{a}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Repack(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Repack(%v) (-want +got):\n%s", tc.in, diff)
			}
			if again := Repack(got); !cmp.Equal(got, again) {
				t.Errorf("Repack is not idempotent: %v then %v", got, again)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	addrs := func(prefix string, n int) []corev1.EndpointAddress {
		out := make([]corev1.EndpointAddress, n)
		for i := range out {
			out[i] = corev1.EndpointAddress{IP: fmt.Sprintf("%s%d", prefix, i)}
		}
		return out
	}
	type counts struct{ ready, notReady int }
	tests := []struct {
		name      string
		in        []corev1.EndpointSubset
		max       int
		want      []counts
		truncated bool
	}{{
		name: "at capacity is left alone",
		in:   []corev1.EndpointSubset{{Addresses: addrs("a", 6), NotReadyAddresses: addrs("n", 4)}},
		max:  10,
		want: []counts{{6, 4}},
	}, {
		name:      "ready beyond capacity drops every not-ready address",
		in:        []corev1.EndpointSubset{{Addresses: addrs("a", 12), NotReadyAddresses: addrs("n", 3)}},
		max:       10,
		want:      []counts{{10, 0}},
		truncated: true,
	}, {
		name: "ready share is proportional across subsets",
		in: []corev1.EndpointSubset{
			{Addresses: addrs("a", 15)},
			{Addresses: addrs("b", 5)},
		},
		max:       10,
		want:      []counts{{8, 0}, {2, 0}},
		truncated: true,
	}, {
		name: "room after the ready ones goes to not-ready proportionally",
		in: []corev1.EndpointSubset{
			{Addresses: addrs("a", 4), NotReadyAddresses: addrs("n", 6)},
			{Addresses: addrs("b", 2), NotReadyAddresses: addrs("m", 2)},
		},
		max:       10,
		want:      []counts{{4, 3}, {2, 1}},
		truncated: true,
	}, {
		name: "subsets left without addresses are dropped",
		in: []corev1.EndpointSubset{
			{Addresses: addrs("a", 10)},
			{NotReadyAddresses: addrs("n", 5)},
		},
		max:       10,
		want:      []counts{{10, 0}},
		truncated: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, truncated := truncate(tc.in, tc.max)
			var got []counts
			for _, s := range out {
				got = append(got, counts{len(s.Addresses), len(s.NotReadyAddresses)})
			}
			if truncated != tc.truncated || !cmp.Equal(got, tc.want, cmp.AllowUnexported(counts{})) {
				t.Errorf("truncate(max %d) = %v, %v; want %v, %v", tc.max, got, truncated, tc.want, tc.truncated)
			}
		})
	}
}
