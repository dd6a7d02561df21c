package envvars

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MasterServiceName is the one Service of the master namespace that every pod
// sees, whether or not its service links are enabled.
const MasterServiceName = "kubernetes"

// ForPod returns the Service variables the kubelet gives a pod in namespace ns,
// one per name, choosing from services (which may span namespaces) as the kubelet
// does:
//
//   - only Services with a ClusterIP count (not headless, not ExternalName);
//   - the `kubernetes` Service of masterServiceNamespace ("" means "default", the
//     only value current kubelets use) is always visible;
//   - with enableServiceLinks, every Service of ns is visible too, and a
//     `kubernetes` Service in ns replaces the master one.
//
// The result is ordered by Service name, each Service's variables in generation
// order. Where two Services produce the same name, the value of the Service later
// in name order is kept, at the position the name first appeared.
func ForPod(ns string, services []*corev1.Service, enableServiceLinks bool, masterServiceNamespace string) []corev1.EnvVar {
	if masterServiceNamespace == "" {
		masterServiceNamespace = metav1.NamespaceDefault
	}
	visible := make(map[string]*corev1.Service)
	for _, svc := range services {
		if svc == nil || !hasClusterIP(svc) {
			continue
		}
		switch {
		case svc.Namespace == masterServiceNamespace && svc.Name == MasterServiceName:
			if _, taken := visible[svc.Name]; !taken {
				visible[svc.Name] = svc
			}
		case svc.Namespace == ns && enableServiceLinks:
			visible[svc.Name] = svc
		}
	}

	names := make([]string, 0, len(visible))
	for name := range visible {
		names = append(names, name)
	}
	sort.Strings(names)
	ordered := make([]*corev1.Service, 0, len(names))
	for _, name := range names {
		ordered = append(ordered, visible[name])
	}
	return dedupe(FromServices(ordered))
}

// ServiceLinksEnabled reports the pod's enableServiceLinks, applying the API
// default (true) when it is unset.
func ServiceLinksEnabled(spec *corev1.PodSpec) bool {
	if spec == nil || spec.EnableServiceLinks == nil {
		return corev1.DefaultEnableServiceLinks
	}
	return *spec.EnableServiceLinks
}

// dedupe keeps one variable per name: the last value written, at the position
// where the name first appeared.
func dedupe(vars []corev1.EnvVar) []corev1.EnvVar {
	at := make(map[string]int, len(vars))
	out := make([]corev1.EnvVar, 0, len(vars))
	for _, v := range vars {
		if i, seen := at[v.Name]; seen {
			out[i] = v
			continue
		}
		at[v.Name] = len(out)
		out = append(out, v)
	}
	return out
}
