package envvars

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// service builds a Service with the given ClusterIP and ports.
func service(ns, name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: clusterIP, Ports: ports},
	}
}

func port(name string, number int32, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: number, Protocol: proto}
}

// env turns "NAME=value" pairs into EnvVars.
func env(pairs ...string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(pairs))
	for _, p := range pairs {
		for i := 0; i < len(p); i++ {
			if p[i] == '=' {
				out = append(out, corev1.EnvVar{Name: p[:i], Value: p[i+1:]})
				break
			}
		}
	}
	return out
}

func TestFromServices(t *testing.T) {
	tests := []struct {
		name     string
		services []*corev1.Service
		want     []corev1.EnvVar
	}{
		{
			// The example of the Services documentation, which lists exactly these
			// seven variables in this order.
			name:     "redis-master as documented",
			services: []*corev1.Service{service("default", "redis-master", "10.0.0.11", port("", 6379, corev1.ProtocolTCP))},
			want: env(
				"REDIS_MASTER_SERVICE_HOST=10.0.0.11",
				"REDIS_MASTER_SERVICE_PORT=6379",
				"REDIS_MASTER_PORT=tcp://10.0.0.11:6379",
				"REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379",
				"REDIS_MASTER_PORT_6379_TCP_PROTO=tcp",
				"REDIS_MASTER_PORT_6379_TCP_PORT=6379",
				"REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11",
			),
		},
		{
			name:     "empty protocol means tcp",
			services: []*corev1.Service{service("ns", "foo-bar", "1.2.3.4", port("", 8080, ""))},
			want: env(
				"FOO_BAR_SERVICE_HOST=1.2.3.4",
				"FOO_BAR_SERVICE_PORT=8080",
				"FOO_BAR_PORT=tcp://1.2.3.4:8080",
				"FOO_BAR_PORT_8080_TCP=tcp://1.2.3.4:8080",
				"FOO_BAR_PORT_8080_TCP_PROTO=tcp",
				"FOO_BAR_PORT_8080_TCP_PORT=8080",
				"FOO_BAR_PORT_8080_TCP_ADDR=1.2.3.4",
			),
		},
		{
			name: "named ports, udp first, dashes in port names",
			services: []*corev1.Service{service("ns", "abc-123", "5.6.7.8",
				port("u-d-p", 8081, corev1.ProtocolUDP),
				port("t-c-p", 8081, corev1.ProtocolTCP),
			)},
			want: env(
				"ABC_123_SERVICE_HOST=5.6.7.8",
				"ABC_123_SERVICE_PORT=8081",
				"ABC_123_SERVICE_PORT_U_D_P=8081",
				"ABC_123_SERVICE_PORT_T_C_P=8081",
				"ABC_123_PORT=udp://5.6.7.8:8081",
				"ABC_123_PORT_8081_UDP=udp://5.6.7.8:8081",
				"ABC_123_PORT_8081_UDP_PROTO=udp",
				"ABC_123_PORT_8081_UDP_PORT=8081",
				"ABC_123_PORT_8081_UDP_ADDR=5.6.7.8",
				"ABC_123_PORT_8081_TCP=tcp://5.6.7.8:8081",
				"ABC_123_PORT_8081_TCP_PROTO=tcp",
				"ABC_123_PORT_8081_TCP_PORT=8081",
				"ABC_123_PORT_8081_TCP_ADDR=5.6.7.8",
			),
		},
		{
			name: "unnamed first port, numeric port name",
			services: []*corev1.Service{service("ns", "q-u-u-x", "9.8.7.6",
				port("", 8082, corev1.ProtocolTCP),
				port("8083", 8083, corev1.ProtocolTCP),
			)},
			want: env(
				"Q_U_U_X_SERVICE_HOST=9.8.7.6",
				"Q_U_U_X_SERVICE_PORT=8082",
				"Q_U_U_X_SERVICE_PORT_8083=8083",
				"Q_U_U_X_PORT=tcp://9.8.7.6:8082",
				"Q_U_U_X_PORT_8082_TCP=tcp://9.8.7.6:8082",
				"Q_U_U_X_PORT_8082_TCP_PROTO=tcp",
				"Q_U_U_X_PORT_8082_TCP_PORT=8082",
				"Q_U_U_X_PORT_8082_TCP_ADDR=9.8.7.6",
				"Q_U_U_X_PORT_8083_TCP=tcp://9.8.7.6:8083",
				"Q_U_U_X_PORT_8083_TCP_PROTO=tcp",
				"Q_U_U_X_PORT_8083_TCP_PORT=8083",
				"Q_U_U_X_PORT_8083_TCP_ADDR=9.8.7.6",
			),
		},
		{
			name:     "sctp",
			services: []*corev1.Service{service("ns", "assoc", "10.0.0.5", port("sig", 3868, corev1.ProtocolSCTP))},
			want: env(
				"ASSOC_SERVICE_HOST=10.0.0.5",
				"ASSOC_SERVICE_PORT=3868",
				"ASSOC_SERVICE_PORT_SIG=3868",
				"ASSOC_PORT=sctp://10.0.0.5:3868",
				"ASSOC_PORT_3868_SCTP=sctp://10.0.0.5:3868",
				"ASSOC_PORT_3868_SCTP_PROTO=sctp",
				"ASSOC_PORT_3868_SCTP_PORT=3868",
				"ASSOC_PORT_3868_SCTP_ADDR=10.0.0.5",
			),
		},
		{
			name:     "ipv6 is bracketed only in urls",
			services: []*corev1.Service{service("ns", "web", "fd00::1", port("http", 80, corev1.ProtocolTCP))},
			want: env(
				"WEB_SERVICE_HOST=fd00::1",
				"WEB_SERVICE_PORT=80",
				"WEB_SERVICE_PORT_HTTP=80",
				"WEB_PORT=tcp://[fd00::1]:80",
				"WEB_PORT_80_TCP=tcp://[fd00::1]:80",
				"WEB_PORT_80_TCP_PROTO=tcp",
				"WEB_PORT_80_TCP_PORT=80",
				"WEB_PORT_80_TCP_ADDR=fd00::1",
			),
		},
		{
			name: "headless, externalname, portless and nil are skipped",
			services: []*corev1.Service{
				service("ns", "headless", corev1.ClusterIPNone, port("", 80, corev1.ProtocolTCP)),
				{
					ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ext"},
					Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
				},
				service("ns", "portless", "10.0.0.9"),
				nil,
			},
			want: nil,
		},
		{
			name: "input order kept, duplicates kept",
			services: []*corev1.Service{
				service("ns", "foo-service", "10.0.0.2", port("", 81, corev1.ProtocolTCP)),
				service("ns", "foo", "10.0.0.1", port("", 80, corev1.ProtocolTCP)),
			},
			want: env(
				"FOO_SERVICE_SERVICE_HOST=10.0.0.2",
				"FOO_SERVICE_SERVICE_PORT=81",
				"FOO_SERVICE_PORT=tcp://10.0.0.2:81",
				"FOO_SERVICE_PORT_81_TCP=tcp://10.0.0.2:81",
				"FOO_SERVICE_PORT_81_TCP_PROTO=tcp",
				"FOO_SERVICE_PORT_81_TCP_PORT=81",
				"FOO_SERVICE_PORT_81_TCP_ADDR=10.0.0.2",
				"FOO_SERVICE_HOST=10.0.0.1",
				"FOO_SERVICE_PORT=80",
				"FOO_PORT=tcp://10.0.0.1:80",
				"FOO_PORT_80_TCP=tcp://10.0.0.1:80",
				"FOO_PORT_80_TCP_PROTO=tcp",
				"FOO_PORT_80_TCP_PORT=80",
				"FOO_PORT_80_TCP_ADDR=10.0.0.1",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromServices(tt.services)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromServices() mismatch (-want +got):\n%s\ngot:  %v\nwant: %v", diff, got, tt.want)
			}
		})
	}
}

func TestVariableName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "redis", want: "REDIS"},
		{name: "dashes", in: "redis-master", want: "REDIS_MASTER"},
		{name: "digits kept", in: "abc-123", want: "ABC_123"},
		{name: "leading digit not escaped", in: "8083", want: "8083"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := variableName(tt.in); got != tt.want {
				t.Errorf("variableName(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
