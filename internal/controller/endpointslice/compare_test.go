package endpointslice

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

func TestPortListKey(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	http := discoveryv1.EndpointPort{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: &tcp}
	dns := discoveryv1.EndpointPort{Name: ptr.To("dns"), Port: ptr.To[int32](53), Protocol: &udp}
	cases := []struct {
		name string
		a, b []discoveryv1.EndpointPort
		same bool
	}{
		{name: "order does not matter", a: []discoveryv1.EndpointPort{http, dns}, b: []discoveryv1.EndpointPort{dns, http}, same: true},
		{name: "nil and empty", a: nil, b: []discoveryv1.EndpointPort{}, same: true},
		{name: "unset name is empty, unset protocol TCP", a: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
			b: []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To[int32](80), Protocol: &tcp}}, same: true},
		{name: "port number", a: []discoveryv1.EndpointPort{http},
			b: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](81), Protocol: &tcp}}, same: false},
		{name: "protocol", a: []discoveryv1.EndpointPort{http},
			b: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: &udp}}, same: false},
		{name: "appProtocol", a: []discoveryv1.EndpointPort{http},
			b: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80), Protocol: &tcp, AppProtocol: ptr.To("h2c")}}, same: false},
		{name: "unset port", a: []discoveryv1.EndpointPort{{Name: ptr.To("x"), Protocol: &tcp}},
			b: []discoveryv1.EndpointPort{{Name: ptr.To("x"), Port: ptr.To[int32](0), Protocol: &tcp}}, same: false},
		{name: "placeholder vs ports", a: nil, b: []discoveryv1.EndpointPort{http}, same: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := portListKey(tc.a), portListKey(tc.b)
			if (ka == kb) != tc.same {
				t.Errorf("keys %q and %q: equal = %v, want %v", ka, kb, ka == kb, tc.same)
			}
		})
	}
}

func TestEndpointsEqual(t *testing.T) {
	base := func() discoveryv1.Endpoint {
		return discoveryv1.Endpoint{
			Addresses:  []string{"10.0.0.1", "10.0.0.2"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			NodeName:   ptr.To("node-a"),
			Zone:       ptr.To("zone-a"),
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", UID: "u"},
			Hints:      &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "zone-a"}, {Name: "zone-b"}}},
		}
	}
	cases := []struct {
		name   string
		change func(ep *discoveryv1.Endpoint)
		want   bool
	}{
		{name: "same", change: func(*discoveryv1.Endpoint) {}, want: true},
		{name: "addresses reordered", change: func(ep *discoveryv1.Endpoint) { ep.Addresses = []string{"10.0.0.2", "10.0.0.1"} }, want: true},
		{name: "hints reordered", change: func(ep *discoveryv1.Endpoint) {
			ep.Hints.ForZones = []discoveryv1.ForZone{{Name: "zone-b"}, {Name: "zone-a"}}
		}, want: true},
		{name: "address", change: func(ep *discoveryv1.Endpoint) { ep.Addresses = []string{"10.0.0.1", "10.0.0.3"} }, want: false},
		{name: "ready", change: func(ep *discoveryv1.Endpoint) { ep.Conditions.Ready = ptr.To(false) }, want: false},
		{name: "serving unset", change: func(ep *discoveryv1.Endpoint) { ep.Conditions.Serving = nil }, want: false},
		{name: "terminating", change: func(ep *discoveryv1.Endpoint) { ep.Conditions.Terminating = ptr.To(true) }, want: false},
		{name: "hostname", change: func(ep *discoveryv1.Endpoint) { ep.Hostname = ptr.To("h") }, want: false},
		{name: "node", change: func(ep *discoveryv1.Endpoint) { ep.NodeName = ptr.To("node-b") }, want: false},
		{name: "zone", change: func(ep *discoveryv1.Endpoint) { ep.Zone = nil }, want: false},
		{name: "target UID", change: func(ep *discoveryv1.Endpoint) { ep.TargetRef.UID = "v" }, want: false},
		{name: "hints dropped", change: func(ep *discoveryv1.Endpoint) { ep.Hints = nil }, want: false},
		{name: "node hint", change: func(ep *discoveryv1.Endpoint) { ep.Hints.ForNodes = []discoveryv1.ForNode{{Name: "node-a"}} }, want: false},
		{name: "deprecated topology", change: func(ep *discoveryv1.Endpoint) { ep.DeprecatedTopology = map[string]string{"a": "b"} }, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.change(&b)
			if got := endpointsEqual(&a, &b); got != tc.want {
				t.Errorf("endpointsEqual = %v, want %v", got, tc.want)
			}
			if got := endpointsEqual(&b, &a); got != tc.want {
				t.Errorf("endpointsEqual (swapped) = %v, want %v", got, tc.want)
			}
		})
	}
	empty := discoveryv1.Endpoint{Hints: &discoveryv1.EndpointHints{}}
	if !endpointsEqual(&empty, &discoveryv1.Endpoint{}) {
		t.Errorf("empty hints and no hints differ, want equal")
	}
}
