package pod

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestDefault(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{
		DeprecatedServiceAccount: "builder",
		Volumes:                  []corev1.Volume{{Name: "scratch"}},
		Containers: []corev1.Container{{
			Name:           "web",
			Image:          "nginx",
			Ports:          []corev1.ContainerPort{{ContainerPort: 80}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{}}},
			Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
		}},
	}}
	Default(p)
	s := p.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"securityContext", *s.SecurityContext, corev1.PodSecurityContext{}},
		{"serviceAccountName", s.ServiceAccountName, "builder"},
		{"volume source", s.Volumes[0].EmptyDir != nil, true},
		{"port protocol", s.Containers[0].Ports[0].Protocol, corev1.ProtocolTCP},
		{"imagePullPolicy", s.Containers[0].ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", s.Containers[0].TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", s.Containers[0].TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"probe period", s.Containers[0].ReadinessProbe.PeriodSeconds, int32(10)},
		{"probe path", s.Containers[0].ReadinessProbe.HTTPGet.Path, "/"},
		{"probe scheme", s.Containers[0].ReadinessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"cpu request from limit", s.Containers[0].Resources.Requests.Cpu().String(), "500m"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultKeepsValues(t *testing.T) {
	p := newPod()
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever
	want := p.DeepCopy()
	Default(p)
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Default changed an already defaulted pod:\n got %+v\nwant %+v", p.Spec, want.Spec)
	}
}

func TestDefaultHostNetworkPorts(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 53}}}}}}
	Default(p)
	if got := p.Spec.Containers[0].Ports[0].HostPort; got != 53 {
		t.Errorf("hostPort = %d; want 53", got)
	}
}

func TestPullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{image: "nginx", want: corev1.PullAlways},
		{image: "nginx:latest", want: corev1.PullAlways},
		{image: "registry.example:5000/team/web", want: corev1.PullAlways},
		{image: "nginx:1.27", want: corev1.PullIfNotPresent},
		{image: "registry.example:5000/team/web:v2", want: corev1.PullIfNotPresent},
		{image: "nginx@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: corev1.PullIfNotPresent},
		{image: "Not/Valid", want: corev1.PullIfNotPresent},
		{image: "", want: corev1.PullIfNotPresent},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			if got := pullPolicy(tc.image); got != tc.want {
				t.Errorf("pullPolicy(%q) = %s; want %s", tc.image, got, tc.want)
			}
		})
	}
}

func TestSyncStatusIPs(t *testing.T) {
	tests := []struct {
		name       string
		in         corev1.PodStatus
		wantIP     string
		wantIPs    []corev1.PodIP
		wantHost   string
		wantHostIP []corev1.HostIP
	}{
		{name: "empty"},
		{name: "singular only", in: corev1.PodStatus{PodIP: "10.244.0.5", HostIP: "192.0.2.1"},
			wantIP: "10.244.0.5", wantIPs: []corev1.PodIP{{IP: "10.244.0.5"}}, wantHost: "192.0.2.1", wantHostIP: []corev1.HostIP{{IP: "192.0.2.1"}}},
		{name: "list only", in: corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}},
			wantIP: "10.244.0.5", wantIPs: []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}},
		{name: "singular wins", in: corev1.PodStatus{PodIP: "10.244.0.6", PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}},
			wantIP: "10.244.0.6", wantIPs: []corev1.PodIP{{IP: "10.244.0.6"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.in
			syncStatusIPs(&st)
			if st.PodIP != tc.wantIP || !reflect.DeepEqual(st.PodIPs, tc.wantIPs) || st.HostIP != tc.wantHost || !reflect.DeepEqual(st.HostIPs, tc.wantHostIP) {
				t.Errorf("syncStatusIPs(%+v) = %+v", tc.in, st)
			}
		})
	}
}
