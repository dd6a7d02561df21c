package service

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTableColumns(t *testing.T) {
	cols := TableColumns()
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
		if c.Type != "string" || c.Description == "" {
			t.Errorf("column %s: type %q, description %q; want string with a description", c.Name, c.Type, c.Description)
		}
		if want := int32(0); c.Name == "Selector" {
			want = 1
			if c.Priority != want {
				t.Errorf("column %s priority = %d; want %d", c.Name, c.Priority, want)
			}
		} else if c.Priority != want {
			t.Errorf("column %s priority = %d; want %d", c.Name, c.Priority, want)
		}
	}
	if want := []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"}; !cmp.Equal(names, want) {
		t.Errorf("TableColumns names = %v; want %v", names, want)
	}
	if cols[0].Format != "name" {
		t.Errorf("Name column format = %q; want name", cols[0].Format)
	}
}

func TestTableRow(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		svc  func() *corev1.Service
		want []any
	}{
		{
			name: "ClusterIP",
			svc: func() *corev1.Service {
				s := stored(newService(corev1.ServiceTypeClusterIP))
				s.Spec.Selector = map[string]string{"tier": "front", "app": "web"}
				s.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
				return s
			},
			want: []any{"web", "ClusterIP", "10.0.0.10", "<none>", "80/TCP", "90s", "app=web,tier=front"},
		},
		{
			name: "headless without ports or selector",
			svc: func() *corev1.Service {
				s := newService(corev1.ServiceTypeClusterIP)
				s.Spec.ClusterIP, s.Spec.Ports, s.Spec.Selector = "None", nil, nil
				return created(s)
			},
			want: []any{"web", "ClusterIP", "None", "<none>", "<none>", "<unknown>", "<none>"},
		},
		{
			name: "ClusterIP with externalIPs",
			svc: func() *corev1.Service {
				s := newService(corev1.ServiceTypeClusterIP)
				s.Spec.ExternalIPs = []string{"80.11.12.10", "80.11.12.11"}
				return stored(s)
			},
			want: []any{"web", "ClusterIP", "10.0.0.10", "80.11.12.10,80.11.12.11", "80/TCP", "<unknown>", "app=web"},
		},
		{
			name: "NodePort with two ports",
			svc: func() *corev1.Service {
				s := newService(corev1.ServiceTypeNodePort)
				s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443, NodePort: 30443}}
				return stored(s)
			},
			want: []any{"web", "NodePort", "10.0.0.10", "<none>", "80:30080/TCP,443:30443/TCP", "<unknown>", "app=web"},
		},
		{
			name: "LoadBalancer pending",
			svc:  func() *corev1.Service { return stored(newService(corev1.ServiceTypeLoadBalancer)) },
			want: []any{"web", "LoadBalancer", "10.0.0.10", "<pending>", "80:30080/TCP", "<unknown>", "app=web"},
		},
		{
			name: "LoadBalancer with ingress and externalIPs",
			svc: func() *corev1.Service {
				s := newService(corev1.ServiceTypeLoadBalancer)
				s.Spec.ExternalIPs = []string{"80.11.12.10"}
				stored(s)
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{
					{IP: "146.148.47.156"}, {Hostname: "lb.example.com"}, {IP: "146.148.47.155"}, {IP: "146.148.47.156"},
				}
				return s
			},
			want: []any{"web", "LoadBalancer", "10.0.0.10", "146.148.47.155,146.148.47.156,lb.example.com,80.11.12.10", "80:30080/TCP", "<unknown>", "app=web"},
		},
		{
			name: "ExternalName",
			svc: func() *corev1.Service {
				s := newService(corev1.ServiceTypeExternalName)
				s.Spec.ExternalName, s.Spec.Ports, s.Spec.Selector = "db.example.com", nil, nil
				return stored(s)
			},
			want: []any{"web", "ExternalName", "<none>", "db.example.com", "<none>", "<unknown>", "<none>"},
		},
		{
			name: "UDP port",
			svc: func() *corev1.Service {
				s := newService(corev1.ServiceTypeClusterIP)
				s.Spec.Ports[0] = corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}
				s.CreationTimestamp = metav1.NewTime(now.Add(-3 * 24 * time.Hour))
				return stored(s)
			},
			want: []any{"web", "ClusterIP", "10.0.0.10", "<none>", "53/UDP", "3d", "app=web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TableRow(tt.svc(), now)
			if !cmp.Equal(got, tt.want) {
				t.Errorf("TableRow = %q; want %q", got, tt.want)
			}
			if len(got) != len(TableColumns()) {
				t.Errorf("TableRow has %d cells; want one per column (%d)", len(got), len(TableColumns()))
			}
		})
	}
}
