package service

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableColumns returns the columns `kubectl get services` shows, as
// kube-apiserver defines them; Selector has priority 1 (only with -o wide).
func TableColumns() []metav1.TableColumnDefinition {
	spec := corev1.ServiceSpec{}.SwaggerDoc()
	meta := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: meta["name"]},
		{Name: "Type", Type: "string", Description: spec["type"]},
		{Name: "Cluster-IP", Type: "string", Description: spec["clusterIP"]},
		{Name: "External-IP", Type: "string", Description: spec["externalIPs"]},
		{Name: "Port(s)", Type: "string", Description: spec["ports"]},
		{Name: "Age", Type: "string", Description: meta["creationTimestamp"]},
		{Name: "Selector", Type: "string", Priority: 1, Description: spec["selector"]},
	}
}

// TableRow returns the cells of svc's row for the columns of TableColumns, at
// time now. As kube-apiserver renders tables in wide mode, the external IP list
// is never shortened.
func TableRow(svc *corev1.Service, now time.Time) []any {
	clusterIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := portsCell(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	age := "<unknown>"
	if ts := svc.CreationTimestamp; !ts.IsZero() {
		age = duration.HumanDuration(now.Sub(ts.Time))
	}
	return []any{
		svc.Name,
		string(svc.Spec.Type),
		clusterIP,
		externalIPCell(svc),
		ports,
		age,
		labels.FormatLabels(svc.Spec.Selector),
	}
}

// externalIPCell is what EXTERNAL-IP shows for each type: the externalIPs (for
// LoadBalancers after the ingress addresses, "<pending>" while there are none),
// or the external name.
func externalIPCell(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		cells := ingressAddresses(svc.Status.LoadBalancer)
		cells = append(cells, svc.Spec.ExternalIPs...)
		if len(cells) == 0 {
			return "<pending>"
		}
		return strings.Join(cells, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// ingressAddresses lists each ingress entry's IP, or its hostname when it has no
// IP, sorted and without duplicates.
func ingressAddresses(status corev1.LoadBalancerStatus) []string {
	var out []string
	for _, in := range status.Ingress {
		switch {
		case in.IP != "":
			out = append(out, in.IP)
		case in.Hostname != "":
			out = append(out, in.Hostname)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// portsCell renders ports as "port/PROTO" or "port:nodePort/PROTO", comma-joined.
func portsCell(ports []corev1.ServicePort) string {
	cells := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			cells[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			cells[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(cells, ",")
}
