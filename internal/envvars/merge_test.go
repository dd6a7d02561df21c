package envvars

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestMerge(t *testing.T) {
	fieldRef := &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}
	svc := env(
		"REDIS_MASTER_SERVICE_HOST=10.0.0.11",
		"REDIS_MASTER_SERVICE_PORT=6379",
	)
	tests := []struct {
		name      string
		container []corev1.EnvVar
		service   []corev1.EnvVar
		want      []corev1.EnvVar
	}{
		{
			name:    "no container env: service vars as given",
			service: svc,
			want:    svc,
		},
		{
			name:      "container first, then service vars",
			container: env("MODE=prod"),
			service:   svc,
			want:      env("MODE=prod", "REDIS_MASTER_SERVICE_HOST=10.0.0.11", "REDIS_MASTER_SERVICE_PORT=6379"),
		},
		{
			name:      "explicit container value wins over the service var",
			container: env("REDIS_MASTER_SERVICE_HOST=redis.example"),
			service:   svc,
			want:      env("REDIS_MASTER_SERVICE_HOST=redis.example", "REDIS_MASTER_SERVICE_PORT=6379"),
		},
		{
			name:      "an empty container value still wins",
			container: []corev1.EnvVar{{Name: "REDIS_MASTER_SERVICE_PORT"}},
			service:   svc,
			want:      []corev1.EnvVar{{Name: "REDIS_MASTER_SERVICE_PORT"}, {Name: "REDIS_MASTER_SERVICE_HOST", Value: "10.0.0.11"}},
		},
		{
			name:      "valueFrom entries pass through and still win",
			container: []corev1.EnvVar{{Name: "REDIS_MASTER_SERVICE_HOST", ValueFrom: fieldRef}},
			service:   svc,
			want:      []corev1.EnvVar{{Name: "REDIS_MASTER_SERVICE_HOST", ValueFrom: fieldRef}, {Name: "REDIS_MASTER_SERVICE_PORT", Value: "6379"}},
		},
		{
			name:      "references to service vars are expanded",
			container: env("REDIS_URL=redis://$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT)/0"),
			service:   svc,
			want:      env("REDIS_URL=redis://10.0.0.11:6379/0", "REDIS_MASTER_SERVICE_HOST=10.0.0.11", "REDIS_MASTER_SERVICE_PORT=6379"),
		},
		{
			name:      "earlier container vars come before service vars",
			container: env("REDIS_MASTER_SERVICE_PORT=7000", "ADDR=$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT)"),
			service:   svc,
			want:      env("REDIS_MASTER_SERVICE_PORT=7000", "ADDR=10.0.0.11:7000", "REDIS_MASTER_SERVICE_HOST=10.0.0.11"),
		},
		{
			name:      "later container vars are not visible",
			container: env("A=$(B)", "B=b"),
			want:      env("A=$(B)", "B=b"),
		},
		{
			name:      "a reference to an unresolved valueFrom stays as written",
			container: []corev1.EnvVar{{Name: "REDIS_MASTER_SERVICE_HOST", ValueFrom: fieldRef}, {Name: "X", Value: "$(REDIS_MASTER_SERVICE_HOST)"}},
			service:   svc,
			want: []corev1.EnvVar{
				{Name: "REDIS_MASTER_SERVICE_HOST", ValueFrom: fieldRef},
				{Name: "X", Value: "$(REDIS_MASTER_SERVICE_HOST)"},
				{Name: "REDIS_MASTER_SERVICE_PORT", Value: "6379"},
			},
		},
		{
			name:      "a name declared twice keeps its first place and last value",
			container: env("A=1", "B=2", "A=$(A)$(A)"),
			want:      env("A=11", "B=2"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.container, tt.service)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Merge() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b", "EMPTY": ""}
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "no references", in: "plain", want: "plain"},
		{name: "one reference", in: "$(A)", want: "a"},
		{name: "references in text", in: "x$(A)y$(B)z", want: "xaybz"},
		{name: "empty value", in: "[$(EMPTY)]", want: "[]"},
		{name: "unknown reference kept", in: "$(C)-$(A)", want: "$(C)-a"},
		{name: "escaped reference", in: "$$(A)", want: "$(A)"},
		{name: "escaped dollar then reference", in: "$$$(A)", want: "$a"},
		{name: "double dollar", in: "$$", want: "$"},
		{name: "lone dollar at end", in: "cost: 5$", want: "cost: 5$"},
		{name: "dollar before other text", in: "$A $HOME", want: "$A $HOME"},
		{name: "unclosed reference", in: "$(A", want: "$(A"},
		{name: "name runs to the first closer", in: "$($(A)", want: "$($(A)"},
		{name: "reference then unclosed", in: "$(A)$(", want: "a$("},
		{name: "empty name", in: "$()", want: "$()"},
		{name: "multibyte after dollar", in: "$é$(A)", want: "$éa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.in, lookup); got != tt.want {
				t.Errorf("Expand(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
