package service

// Address conventions in these tests: cluster IPs come from 10.0.0.0/24 and
// fd00::/64, external and load-balancer addresses from public-looking ranges
// (80.11.12.0/24, 146.148.47.0/24), node ports from 30000-32767.

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// wantErr describes one expected validation error. An empty detail is not
// compared (used for messages that come from apimachinery).
type wantErr struct {
	path   string
	typ    field.ErrorType
	detail string
}

func (w wantErr) String() string { return fmt.Sprintf("%s %s %q", w.path, w.typ, w.detail) }

// checkErrs fails unless errs holds exactly the wanted errors, in any order.
func checkErrs(t *testing.T, errs field.ErrorList, want []wantErr) {
	t.Helper()
	got := make([]wantErr, len(errs))
	for i, e := range errs {
		got[i] = wantErr{path: e.Field, typ: e.Type, detail: e.Detail}
	}
	byKey := func(s []wantErr) func(i, j int) bool {
		return func(i, j int) bool {
			if s[i].path != s[j].path {
				return s[i].path < s[j].path
			}
			if s[i].typ != s[j].typ {
				return s[i].typ < s[j].typ
			}
			return s[i].detail < s[j].detail
		}
	}
	sort.Slice(got, byKey(got))
	want = append([]wantErr(nil), want...)
	sort.Slice(want, byKey(want))
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].path == want[i].path && got[i].typ == want[i].typ &&
			(want[i].detail == "" || got[i].detail == want[i].detail)
	}
	if !ok {
		t.Errorf("errors = %s; want %s\nfull errors: %v", list(got), list(want), errs)
	}
}

func list(ws []wantErr) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// newService returns an undefaulted Service named web in namespace default,
// selecting app=web, with one port 80, of the given type.
func newService(typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
		},
	}
}

// created runs svc through the create path up to validation.
func created(svc *corev1.Service) *corev1.Service {
	Default(svc)
	PrepareForCreate(svc)
	return svc
}

// stored returns what the server would have stored for svc: created, with the
// allocator's work done (cluster IP 10.0.0.10, families, node ports from 30080).
func stored(svc *corev1.Service) *corev1.Service {
	created(svc)
	if svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP == "" {
		svc.Spec.ClusterIP = "10.0.0.10"
		svc.Spec.ClusterIPs = []string{"10.0.0.10"}
	}
	DefaultIPFamilies(svc, nil, []corev1.IPFamily{corev1.IPv4Protocol})
	if needsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].NodePort == 0 {
				svc.Spec.Ports[i].NodePort = 30080 + int32(i)
			}
		}
	}
	if NeedsHealthCheckNodePort(svc) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = 30100
	}
	svc.ResourceVersion = "5"
	return svc
}

func ptrTo[T any](v T) *T { return &v }
