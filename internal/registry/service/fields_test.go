package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

func TestSelectableFields(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		want fields.Set
	}{
		{name: "ClusterIP", svc: stored(newService(corev1.ServiceTypeClusterIP)), want: fields.Set{
			"metadata.name": "web", "metadata.namespace": "default", "spec.clusterIP": "10.0.0.10", "spec.type": "ClusterIP",
		}},
		{name: "ExternalName", svc: func() *corev1.Service {
			s := newService(corev1.ServiceTypeExternalName)
			s.Spec.ExternalName = "db.example.com"
			return s
		}(), want: fields.Set{
			"metadata.name": "web", "metadata.namespace": "default", "spec.clusterIP": "", "spec.type": "ExternalName",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SelectableFields(tt.svc); !cmp.Equal(got, tt.want) {
				t.Errorf("SelectableFields = %v; want %v", got, tt.want)
			}
		})
	}
}
