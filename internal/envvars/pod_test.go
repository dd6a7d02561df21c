package envvars

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// names returns the variable names in order.
func names(vars []corev1.EnvVar) []string {
	out := make([]string, 0, len(vars))
	for _, v := range vars {
		out = append(out, v.Name)
	}
	return out
}

// hostVars keeps only the _SERVICE_HOST variables, which name the visible Services.
func hostVars(vars []corev1.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, v := range vars {
		if len(v.Name) > len("_SERVICE_HOST") && v.Name[len(v.Name)-len("_SERVICE_HOST"):] == "_SERVICE_HOST" {
			out = append(out, v)
		}
	}
	return out
}

func TestForPodVisibility(t *testing.T) {
	tcp80 := port("", 80, corev1.ProtocolTCP)
	https := port("https", 443, corev1.ProtocolTCP)
	master := service("default", "kubernetes", "10.96.0.1", https)
	cluster := []*corev1.Service{
		master,
		service("default", "redis-master", "10.0.0.11", port("", 6379, corev1.ProtocolTCP)),
		service("app", "web", "10.0.1.1", tcp80),
		service("app", "db", "10.0.1.2", tcp80),
		service("app", "headless", corev1.ClusterIPNone, tcp80),
		service("app", "ext", "", tcp80),
		service("other", "web", "10.0.2.1", tcp80),
		service("other", "kubernetes", "10.0.2.9", tcp80),
		service("kube-system", "kubernetes", "10.0.3.9", tcp80),
	}
	tests := []struct {
		name     string
		ns       string
		services []*corev1.Service
		links    bool
		masterNS string
		want     []corev1.EnvVar
	}{
		{
			name:     "own namespace plus the master kubernetes service, sorted by name",
			ns:       "app",
			services: cluster,
			links:    true,
			want:     env("DB_SERVICE_HOST=10.0.1.2", "KUBERNETES_SERVICE_HOST=10.96.0.1", "WEB_SERVICE_HOST=10.0.1.1"),
		},
		{
			name:     "service links off leaves only kubernetes",
			ns:       "app",
			services: cluster,
			links:    false,
			want:     env("KUBERNETES_SERVICE_HOST=10.96.0.1"),
		},
		{
			name:     "a kubernetes service in the pod's namespace replaces the master one",
			ns:       "other",
			services: cluster,
			links:    true,
			want:     env("KUBERNETES_SERVICE_HOST=10.0.2.9", "WEB_SERVICE_HOST=10.0.2.1"),
		},
		{
			name:     "replacement works whatever the input order",
			ns:       "other",
			services: []*corev1.Service{cluster[7], master},
			links:    true,
			want:     env("KUBERNETES_SERVICE_HOST=10.0.2.9"),
		},
		{
			name:     "with links off the pod's own kubernetes service is ignored",
			ns:       "other",
			services: cluster,
			links:    false,
			want:     env("KUBERNETES_SERVICE_HOST=10.96.0.1"),
		},
		{
			name:     "kubernetes is taken from the master namespace only",
			ns:       "empty",
			services: []*corev1.Service{cluster[8], cluster[7]},
			links:    true,
			want:     nil,
		},
		{
			name:     "pod in default sees default services",
			ns:       "default",
			services: cluster,
			links:    true,
			want:     env("KUBERNETES_SERVICE_HOST=10.96.0.1", "REDIS_MASTER_SERVICE_HOST=10.0.0.11"),
		},
		{
			name:     "pod in default with links off",
			ns:       "default",
			services: cluster,
			links:    false,
			want:     env("KUBERNETES_SERVICE_HOST=10.96.0.1"),
		},
		{
			name:     "headless master service gives nothing",
			ns:       "app",
			services: []*corev1.Service{service("default", "kubernetes", corev1.ClusterIPNone, https)},
			links:    true,
			want:     nil,
		},
		{
			name:     "another master namespace",
			ns:       "app",
			services: cluster,
			links:    false,
			masterNS: "kube-system",
			want:     env("KUBERNETES_SERVICE_HOST=10.0.3.9"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hostVars(ForPod(tt.ns, tt.services, tt.links, tt.masterNS))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ForPod(%q, links=%v) hosts mismatch (-want +got):\n%s", tt.ns, tt.links, diff)
			}
		})
	}
}

func TestForPodOrderAndCollisions(t *testing.T) {
	tests := []struct {
		name     string
		services []*corev1.Service
		want     []corev1.EnvVar
	}{
		{
			name: "redis-master with the kubernetes service",
			services: []*corev1.Service{
				service("default", "redis-master", "10.0.0.11", port("", 6379, corev1.ProtocolTCP)),
				service("default", "kubernetes", "10.96.0.1", port("https", 443, corev1.ProtocolTCP)),
			},
			want: env(
				"KUBERNETES_SERVICE_HOST=10.96.0.1",
				"KUBERNETES_SERVICE_PORT=443",
				"KUBERNETES_SERVICE_PORT_HTTPS=443",
				"KUBERNETES_PORT=tcp://10.96.0.1:443",
				"KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443",
				"KUBERNETES_PORT_443_TCP_PROTO=tcp",
				"KUBERNETES_PORT_443_TCP_PORT=443",
				"KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
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
			// foo's FOO_SERVICE_PORT collides with foo-service's Docker-links
			// FOO_SERVICE_PORT; foo-service sorts later, so its value wins, at
			// foo's position.
			name: "collision: the later service in name order wins",
			services: []*corev1.Service{
				service("default", "foo-service", "10.0.0.2", port("", 81, corev1.ProtocolTCP)),
				service("default", "foo", "10.0.0.1", port("", 80, corev1.ProtocolTCP)),
			},
			want: env(
				"FOO_SERVICE_HOST=10.0.0.1",
				"FOO_SERVICE_PORT=tcp://10.0.0.2:81",
				"FOO_PORT=tcp://10.0.0.1:80",
				"FOO_PORT_80_TCP=tcp://10.0.0.1:80",
				"FOO_PORT_80_TCP_PROTO=tcp",
				"FOO_PORT_80_TCP_PORT=80",
				"FOO_PORT_80_TCP_ADDR=10.0.0.1",
				"FOO_SERVICE_SERVICE_HOST=10.0.0.2",
				"FOO_SERVICE_SERVICE_PORT=81",
				"FOO_SERVICE_PORT_81_TCP=tcp://10.0.0.2:81",
				"FOO_SERVICE_PORT_81_TCP_PROTO=tcp",
				"FOO_SERVICE_PORT_81_TCP_PORT=81",
				"FOO_SERVICE_PORT_81_TCP_ADDR=10.0.0.2",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForPod("default", tt.services, true, "")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ForPod() mismatch (-want +got):\n%s\ngot names: %v", diff, names(got))
			}
		})
	}
}

func TestServiceLinksEnabled(t *testing.T) {
	tests := []struct {
		name string
		spec *corev1.PodSpec
		want bool
	}{
		{name: "nil spec defaults to true", spec: nil, want: true},
		{name: "unset defaults to true", spec: &corev1.PodSpec{}, want: true},
		{name: "explicit true", spec: &corev1.PodSpec{EnableServiceLinks: ptr.To(true)}, want: true},
		{name: "explicit false", spec: &corev1.PodSpec{EnableServiceLinks: ptr.To(false)}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ServiceLinksEnabled(tt.spec); got != tt.want {
				t.Errorf("ServiceLinksEnabled() = %v; want %v", got, tt.want)
			}
		})
	}
}
