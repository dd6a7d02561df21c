package pod

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Addresses in these tests: pods get 10.244.0.0/16 and fd00::/64, nodes
// 192.0.2.0/24.

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
