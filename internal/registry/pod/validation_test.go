package pod

import (
	"github.com/svcnet/svcnet/internal/registry/registrytest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []registrytest.WantErr
	}{
		{name: "valid", mutate: func(*corev1.Pod) {}},
		{
			name: "hostname and subdomain for a headless service",
			mutate: func(p *corev1.Pod) {
				p.Spec.Hostname, p.Spec.Subdomain = "web-0", "web"
			},
		},
		{
			name: "sidecar init container",
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "proxy:1", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
					ReadinessProbe: &corev1.Probe{}, ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
			},
		},
		{
			name:   "name not a DNS subdomain",
			mutate: func(p *corev1.Pod) { p.Name = "Web_0" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "metadata.name"}},
		},
		{
			name:   "no containers",
			mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.containers"}},
		},
		{
			name:   "container name missing",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.containers[0].name"}},
		},
		{
			name:   "container name not a DNS label",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.containers[0].name"}},
		},
		{
			name: "duplicate container names",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, *p.Spec.Containers[0].DeepCopy())
				p.Spec.Containers[1].Ports = nil
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "spec.containers[1].name"}},
		},
		{
			name: "init container named like a container",
			mutate: func(p *corev1.Pod) {
				init := *p.Spec.Containers[0].DeepCopy()
				init.Ports = nil
				p.Spec.InitContainers = []corev1.Container{init}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "spec.initContainers[0].name"}},
		},
		{
			name:   "image missing",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.containers[0].image"}},
		},
		{
			name:   "image with whitespace",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.containers[0].image", Detail: "must not have leading or trailing whitespace"}},
		},
		{
			name:   "pull policy unknown",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "spec.containers[0].imagePullPolicy",
				Detail: `supported values: "Always", "IfNotPresent", "Never"`}},
		},
		{
			name:   "restart policy on a regular container",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.containers[0].restartPolicy", Detail: "may not be set for non-init containers"}},
		},
		{
			name: "probe on a run-to-completion init container",
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox:1", LivenessProbe: &corev1.Probe{},
					ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.initContainers[0].livenessProbe",
				Detail: "may not be set for init containers without restartPolicy=Always"}},
		},
		{
			name:   "container port zero",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.containers[0].ports[0].containerPort"}},
		},
		{
			name:   "container port too large",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.containers[0].ports[0].containerPort",
				Detail: "must be between 1 and 65535, inclusive"}},
		},
		{
			name:   "port name too long for IANA",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "a-very-long-port-name" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.containers[0].ports[0].name", Detail: "must be no more than 15 characters"}},
		},
		{
			name:   "port name without a letter",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "8080" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.containers[0].ports[0].name", Detail: "must contain at least one letter (a-z)"}},
		},
		{
			name: "duplicate port names",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http", ContainerPort: 8081, Protocol: corev1.ProtocolTCP})
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "spec.containers[0].ports[1].name"}},
		},
		{
			name:   "port protocol unknown",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "QUIC" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "spec.containers[0].ports[0].protocol"}},
		},
		{
			name: "host port clash",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{
					{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP},
				}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeDuplicate, Field: "spec.containers[0].ports[1].hostPort"}},
		},
		{
			name: "host network needs host port equal to container port",
			mutate: func(p *corev1.Pod) {
				p.Spec.HostNetwork = true
				p.Spec.Containers[0].Ports[0].HostPort = 9090
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.containers[0].ports[0].hostPort", Detail: "must match `containerPort` when `hostNetwork` is true"}},
		},
		{
			name:   "env name empty",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Value: "x"}} },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.containers[0].env[0].name"}},
		},
		{
			name:   "restart policy unknown",
			mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want: []registrytest.WantErr{{Type: field.ErrorTypeNotSupported, Field: "spec.restartPolicy",
				Detail: `supported values: "Always", "OnFailure", "Never"`}},
		},
		{
			name:   "restart policy missing",
			mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.restartPolicy"}},
		},
		{
			name:   "dns policy None without config",
			mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeRequired, Field: "spec.dnsConfig", Detail: "must provide `dnsConfig` when `dnsPolicy` is None"}},
		},
		{
			name: "dns config with bad nameserver",
			mutate: func(p *corev1.Pod) {
				p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"10.96.0.10", "dns.example"}, Searches: []string{"svc.cluster.local."}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.dnsConfig.nameservers[1]"}},
		},
		{
			name:   "hostname not a DNS label",
			mutate: func(p *corev1.Pod) { p.Spec.Hostname = "web.0" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.hostname"}},
		},
		{
			name:   "subdomain not a DNS label",
			mutate: func(p *corev1.Pod) { p.Spec.Subdomain = strings.Repeat("s", 64) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.subdomain", Detail: "must be no more than 63 characters"}},
		},
		{
			name:   "node name invalid",
			mutate: func(p *corev1.Pod) { p.Spec.NodeName = "Node A" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.nodeName"}},
		},
		{
			name:   "service account name invalid",
			mutate: func(p *corev1.Pod) { p.Spec.ServiceAccountName = "Builder" },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.serviceAccountName"}},
		},
		{
			name:   "active deadline zero",
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(0)) },
			want:   []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.activeDeadlineSeconds", Detail: "must be between 1 and 2147483647, inclusive"}},
		},
		{
			name:   "toleration without key must use Exists",
			mutate: func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual}} },
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.tolerations[0].operator",
				Detail: "operator must be Exists when `key` is empty, which means \"match all values and all keys\""}},
		},
		{
			name: "toleration seconds need NoExecute",
			mutate: func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr(int64(5))}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeInvalid, Field: "spec.tolerations[0].effect", Detail: "effect must be 'NoExecute' when `tolerationSeconds` is set"}},
		},
		{
			name: "scheduling gates and node name",
			mutate: func(p *corev1.Pod) {
				p.Spec.NodeName = "node-a"
				p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.nodeName", Detail: "cannot be set until all schedulingGates have been cleared"}},
		},
		{
			name: "ephemeral containers on create",
			mutate: func(p *corev1.Pod) {
				p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debug", Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
			},
			want: []registrytest.WantErr{{Type: field.ErrorTypeForbidden, Field: "spec.ephemeralContainers", Detail: "cannot be set on create"}},
		},
		{
			name: "volumes and security contexts are not validated",
			mutate: func(p *corev1.Pod) {
				p.Spec.Volumes = []corev1.Volume{{Name: "Not A Name", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{}}}}
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(-5))}
				p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "missing"}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod()
			tc.mutate(p)
			registrytest.CheckErrs(t, ValidateCreate(p), tc.want)
		})
	}
}
