package endpointslice

import (
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Reasons of the Warning events the controller records on Services.
const (
	// ReasonFailedToUpdate: a sync failed (an API write was refused, or Pods
	// were left out because their Node is unknown); recorded on every failed
	// sync, as kube-controller-manager does with the same reason.
	ReasonFailedToUpdate = "FailedToUpdateEndpointSlices"
	// ReasonNoMatchingPods: the Service's selector matches no Pod in its
	// namespace, so it has no endpoints.
	ReasonNoMatchingPods = "NoMatchingPods"
	// ReasonNamedPortNotFound: a named targetPort is defined (with the Service
	// port's protocol) by none of the selected Pods, so that Service port has no
	// endpoints.
	ReasonNamedPortNotFound = "NamedPortNotFound"
)

// serviceConditions is what was wrong with one Service at its last sync, as far
// as users are warned about it.
type serviceConditions struct {
	uid    types.UID
	noPods bool
	// missingPorts lists the Service ports whose named targetPort no selected
	// Pod defines, in spec order.
	missingPorts []missingPort
}

// missingPort is a Service port (by name, or number when unnamed) whose named
// targetPort no selected Pod defines.
type missingPort struct {
	port     string
	target   string
	protocol corev1.Protocol
}

// warnings remembers, per Service key, the conditions already reported, so that
// each is reported once when it appears and again only after it went away and
// came back. Memory is lost on restart: a new controller reports a condition
// that still holds once more.
type warnings struct {
	mu sync.Mutex
	m  map[string]serviceConditions
}

func newWarnings() *warnings {
	return &warnings{m: map[string]serviceConditions{}}
}

// swap stores cur as the Service's conditions and returns those reported
// before; those of an earlier Service of the same name (another UID) do not
// count. A Service without any condition is not kept.
func (w *warnings) swap(key string, cur serviceConditions) serviceConditions {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev := w.m[key]
	if prev.uid != cur.uid {
		prev = serviceConditions{}
	}
	if cur.noPods || len(cur.missingPorts) > 0 {
		w.m[key] = cur
	} else {
		delete(w.m, key)
	}
	return prev
}

// forget drops what was reported about a Service.
func (w *warnings) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}

// conditionsOf works out what users should be told about svc given the Pods
// its selector matches. Named ports are only checked when some matched Pod can
// still become an endpoint (is not finished): with none there is nothing to
// resolve them against. A Service being deleted gets no warnings.
func conditionsOf(svc *corev1.Service, pods []*corev1.Pod) serviceConditions {
	cond := serviceConditions{uid: svc.UID}
	if svc.DeletionTimestamp != nil {
		return cond
	}
	if len(pods) == 0 {
		cond.noPods = true
		return cond
	}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.TargetPort.Type != intstr.String {
			continue
		}
		live, found := false, false
		for _, pod := range pods {
			if isTerminal(pod) {
				continue
			}
			live = true
			if _, ok := findPort(pod, sp); ok {
				found = true
				break
			}
		}
		if !live {
			break
		}
		if !found {
			cond.missingPorts = append(cond.missingPorts,
				missingPort{port: portLabel(sp), target: sp.TargetPort.StrVal, protocol: protocolOf(sp)})
		}
	}
	return cond
}

// warn records a Warning event for each condition of svc that its previous
// sync did not see. pods are the Pods its selector matches.
func (c *Controller) warn(key string, svc *corev1.Service, pods []*corev1.Pod) {
	if c.recorder == nil {
		return
	}
	cur := conditionsOf(svc, pods)
	prev := c.warnings.swap(key, cur)
	if cur.noPods && !prev.noPods {
		selector := labels.SelectorFromValidatedSet(svc.Spec.Selector).String()
		if selector == "" {
			selector = "{}"
		}
		c.recorder.Eventf(svc, corev1.EventTypeWarning, ReasonNoMatchingPods,
			"Selector %s matches no pods in namespace %s; the Service has no endpoints", selector, svc.Namespace)
	}
	for _, mp := range cur.missingPorts {
		if slices.Contains(prev.missingPorts, mp) {
			continue
		}
		c.recorder.Eventf(svc, corev1.EventTypeWarning, ReasonNamedPortNotFound,
			"No selected pod defines port %q (%s), the targetPort of Service port %s; that port has no endpoints",
			mp.target, mp.protocol, mp.port)
	}
}

// protocolOf returns a Service port's protocol, TCP when unset.
func protocolOf(sp *corev1.ServicePort) corev1.Protocol {
	if sp.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return sp.Protocol
}

// portLabel names a Service port for a message: its name, or its number when
// it has none.
func portLabel(sp *corev1.ServicePort) string {
	if sp.Name != "" {
		return fmt.Sprintf("%q", sp.Name)
	}
	return fmt.Sprint(sp.Port)
}
