package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Addresses in these tests: pods get 10.244.0.0/16 and fd00::/64, nodes
// 192.0.2.0/24.

// wantErr names one expected validation error. An empty detail is not checked.
type wantErr struct {
	typ    field.ErrorType
	field  string
	detail string
}

func checkErrs(t *testing.T, got field.ErrorList, want []wantErr) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors %v; want %d %v", len(got), got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Type != w.typ || g.Field != w.field || (w.detail != "" && g.Detail != w.detail) {
			t.Errorf("error %d = {%s %s %q}; want {%s %s %q}", i, g.Type, g.Field, g.Detail, w.typ, w.field, w.detail)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// newPod returns a defaulted, valid pod as a client would send it.
func newPod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "web",
				Image: "registry.example/web:1.2",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
	Default(p)
	return p
}

// storedPod returns newPod as the server stores it after a create.
func storedPod() *corev1.Pod {
	p := newPod()
	PrepareForCreate(p)
	p.ResourceVersion = "11"
	return p
}
