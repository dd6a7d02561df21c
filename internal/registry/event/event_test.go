package event

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// oldStyle is an event as client-go's legacy recorder writes it.
func oldStyle() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1820a5c0b9d8e7f6", Namespace: "default", ResourceVersion: "4"},
		InvolvedObject: corev1.ObjectReference{Kind: "Service", Namespace: "default", Name: "web", UID: "u1", APIVersion: "v1"},
		Reason:         "EnsuringLoadBalancer",
		Message:        "Ensuring load balancer",
		Source:         corev1.EventSource{Component: "service-controller"},
		FirstTimestamp: metav1.NewTime(t0.Add(-10 * time.Minute)),
		LastTimestamp:  metav1.NewTime(t0.Add(-1 * time.Minute)),
		Count:          3,
		Type:           corev1.EventTypeNormal,
	}
}

// newStyle is an event as the events.k8s.io recorder writes it.
func newStyle() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.1820a5c0b9d8e7f7", Namespace: "default", ResourceVersion: "4"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"},
		Reason:              "Pulled",
		Message:             "Container image pulled",
		Action:              "Pulling",
		EventTime:           metav1.NewMicroTime(t0.Add(-30 * time.Second)),
		ReportingController: "kubelet",
		ReportingInstance:   "node-a",
		Type:                corev1.EventTypeNormal,
	}
}

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name string
		ev   func() *corev1.Event
		want []registrytest.WantErr
	}{
		{name: "old style", ev: oldStyle},
		{name: "new style", ev: newStyle},
		{
			name: "node event in default namespace",
			ev: func() *corev1.Event {
				ev := oldStyle()
				ev.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-a"}
				return ev
			},
		},
		{
			name: "empty type from an old recorder",
			ev:   func() *corev1.Event { ev := oldStyle(); ev.Type = ""; return ev },
		},
		{
			name: "long message on old style is accepted",
			ev:   func() *corev1.Event { ev := oldStyle(); ev.Message = strings.Repeat("x", 5000); return ev },
		},
		{
			name: "namespace mismatch",
			ev:   func() *corev1.Event { ev := oldStyle(); ev.InvolvedObject.Namespace = "other"; return ev },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "involvedObject.namespace", Detail: "does not match event.namespace"}},
		},
		{
			name: "cluster-scoped object outside default",
			ev: func() *corev1.Event {
				ev := oldStyle()
				ev.Namespace = "team-a"
				ev.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-a"}
				return ev
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "involvedObject.namespace", Detail: "does not match event.namespace"}},
		},
		{
			name: "new style cluster-scoped object in kube-system",
			ev: func() *corev1.Event {
				ev := newStyle()
				ev.Namespace = "kube-system"
				ev.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-a"}
				return ev
			},
		},
		{
			name: "new style without reporter",
			ev: func() *corev1.Event {
				ev := newStyle()
				ev.ReportingController, ev.ReportingInstance = "", ""
				return ev
			},
			want: []registrytest.WantErr{
				// As in kube-apiserver, the empty name is also reported as malformed.
				{Type: field.ErrorTypeRequired, Field: "reportingComponent"},
				{Type: field.ErrorTypeInvalid, Field: "reportingComponent", Detail: "name part must be non-empty"},
				{Type: field.ErrorTypeInvalid, Field: "reportingComponent"},
				{Type: field.ErrorTypeRequired, Field: "reportingInstance"},
			},
		},
		{
			name: "new style without action and reason",
			ev:   func() *corev1.Event { ev := newStyle(); ev.Action, ev.Reason = "", ""; return ev },
			want: []registrytest.WantErr{
				{Type: field.ErrorTypeRequired, Field: "action"},
				{Type: field.ErrorTypeRequired, Field: "reason"},
			},
		},
		{
			name: "new style reason too long",
			ev:   func() *corev1.Event { ev := newStyle(); ev.Reason = strings.Repeat("r", 129); return ev },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "reason", Detail: "can have at most 128 characters"}},
		},
		{
			name: "new style message too long",
			ev:   func() *corev1.Event { ev := newStyle(); ev.Message = strings.Repeat("m", 1025); return ev },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "message", Detail: "can have at most 1024 characters"}},
		},
		{
			name: "unknown type",
			ev:   func() *corev1.Event { ev := oldStyle(); ev.Type = "Error"; return ev },
			want: []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "type", Detail: `supported values: "Normal", "Warning"`}},
		},
		{
			name: "name with a slash",
			ev:   func() *corev1.Event { ev := oldStyle(); ev.Name = "a/b"; return ev },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "may not contain '/'"}},
		},
		{
			name: "namespace missing",
			ev:   func() *corev1.Event { ev := oldStyle(); ev.Namespace = ""; ev.InvolvedObject.Namespace = ""; return ev },
			want: []registrytest.WantErr{
				{Type: field.ErrorTypeInvalid, Field: "namespace"},
				{Type: field.ErrorTypeRequired, Field: "metadata.namespace"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			registrytest.CheckErrs(t, ValidateCreate(tc.ev()), tc.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ev *corev1.Event)
		want   []registrytest.WantErr
	}{
		{name: "recorder bumps count", mutate: func(ev *corev1.Event) { ev.Count++; ev.LastTimestamp = metav1.NewTime(t0) }},
		{
			name:   "rename",
			mutate: func(ev *corev1.Event) { ev.Name = "other" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name", Detail: "field is immutable"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := oldStyle()
			ev := old.DeepCopy()
			tc.mutate(ev)
			registrytest.CheckErrs(t, ValidateUpdate(ev, old), tc.want)
		})
	}
}

func TestTableRow(t *testing.T) {
	series := newStyle()
	series.Series = &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(t0.Add(-5 * time.Second))}
	tests := []struct {
		name string
		ev   *corev1.Event
		want []any
	}{
		{
			name: "old style",
			ev:   oldStyle(),
			want: []any{"60s", "Normal", "EnsuringLoadBalancer", "service/web", "", "service-controller", "Ensuring load balancer", "10m", int64(3), "web.1820a5c0b9d8e7f6"},
		},
		{
			name: "new style singleton",
			ev:   newStyle(),
			want: []any{"30s", "Normal", "Pulled", "pod/web-0", "", "kubelet, node-a", "Container image pulled", "30s", int64(1), "web.1820a5c0b9d8e7f7"},
		},
		{
			name: "new style series",
			ev:   series,
			want: []any{"5s", "Normal", "Pulled", "pod/web-0", "", "kubelet, node-a", "Container image pulled", "30s", int64(7), "web.1820a5c0b9d8e7f7"},
		},
		{
			name: "no timestamps and kind only",
			ev:   &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Node", FieldPath: "spec"}, Message: " trimmed \n"},
			want: []any{"<unknown>", "", "", "node", "spec", "", "trimmed", "<unknown>", int64(1), ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TableRow(tc.ev, t0); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TableRow = %#v; want %#v", got, tc.want)
			}
		})
	}
}

func TestTableColumns(t *testing.T) {
	var names []string
	var wide []string
	for _, c := range TableColumns() {
		names = append(names, c.Name)
		if c.Priority == 1 {
			wide = append(wide, c.Name)
		}
	}
	if want := []string{"Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v; want %v", names, want)
	}
	if want := []string{"Subobject", "Source", "First Seen", "Count", "Name"}; !reflect.DeepEqual(wide, want) {
		t.Errorf("wide columns = %v; want %v", wide, want)
	}
}

func TestSelectableFields(t *testing.T) {
	tests := []struct {
		name       string
		ev         *corev1.Event
		wantSource string
	}{
		{name: "old style source", ev: oldStyle(), wantSource: "service-controller"},
		{name: "reporting controller as source", ev: newStyle(), wantSource: "kubelet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SelectableFields(tc.ev)
			if got["source"] != tc.wantSource {
				t.Errorf("source = %q; want %q", got["source"], tc.wantSource)
			}
			// The selector kubectl describe sends must match.
			sel := fields.SelectorFromSet(fields.Set{
				"involvedObject.kind":      tc.ev.InvolvedObject.Kind,
				"involvedObject.name":      tc.ev.InvolvedObject.Name,
				"involvedObject.namespace": tc.ev.InvolvedObject.Namespace,
				"involvedObject.uid":       string(tc.ev.InvolvedObject.UID),
			})
			if !sel.Matches(got) {
				t.Errorf("selector %s does not match %v", sel, got)
			}
		})
	}
	want := []string{"involvedObject.apiVersion", "involvedObject.fieldPath", "involvedObject.kind", "involvedObject.name",
		"involvedObject.namespace", "involvedObject.resourceVersion", "involvedObject.uid", "metadata.name", "metadata.namespace",
		"reason", "reportingComponent", "source", "type"}
	var keys []string
	for k := range SelectableFields(oldStyle()) {
		keys = append(keys, k)
	}
	if !equalSets(keys, want) {
		t.Errorf("field names = %v; want %v", keys, want)
	}
}

func equalSets(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
