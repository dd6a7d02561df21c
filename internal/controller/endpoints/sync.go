package endpoints

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// errStale asks for a retry: the cache has not yet caught up with our last write.
var errStale = errors.New("endpoints cache is older than the last write")

// sync brings the Endpoints object of one Service (key "namespace/name") to its
// desired state, writing only when something differs.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("split key %q: %w", key, err)
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		svc = nil
	} else if err != nil {
		return fmt.Errorf("get service %s: %w", key, err)
	}
	cur, err := c.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		cur = nil
	} else if err != nil {
		return fmt.Errorf("get endpoints %s: %w", key, err)
	}

	if svc == nil || len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
		c.triggers.forget(key)
		return c.deleteManaged(ctx, cur)
	}
	if c.stale.isStale(key, cur) {
		return errStale
	}

	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return fmt.Errorf("list pods for %s: %w", key, err)
	}
	// Observe even when nothing is written, so the next write reports only changes
	// made after this one.
	trigger := c.triggers.observe(key, svc, pods)
	subsets, over := truncate(Repack(desiredSubsets(svc, pods)), MaxAddresses)
	wantLabels := desiredLabels(svc)

	if cur != nil && equality.Semantic.DeepEqual(cur.Subsets, subsets) &&
		equality.Semantic.DeepEqual(cur.Labels, wantLabels) &&
		hasAnnotation(cur, corev1.EndpointsOverCapacity) == over {
		return nil
	}

	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if cur != nil {
		ep = cur.DeepCopy()
	}
	ep.Labels = wantLabels
	ep.Subsets = subsets
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if trigger.IsZero() {
		delete(ep.Annotations, corev1.EndpointsLastChangeTriggerTime)
	} else {
		ep.Annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
	}
	if over {
		ep.Annotations[corev1.EndpointsOverCapacity] = truncatedValue
	} else {
		delete(ep.Annotations, corev1.EndpointsOverCapacity)
	}
	if len(ep.Annotations) == 0 {
		ep.Annotations = nil
	}

	if cur == nil {
		return c.create(ctx, key, ep)
	}
	return c.update(ctx, key, ep, cur.ResourceVersion)
}

func (c *Controller) create(ctx context.Context, key string, ep *corev1.Endpoints) error {
	_, err := c.client.CoreV1().Endpoints(ep.Namespace).Create(ctx, ep, metav1.CreateOptions{})
	if err != nil {
		// A terminating namespace refuses creates until it is gone: nothing to do.
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		c.warn(ep, "FailedToCreateEndpoint", "Could not create the Endpoints of Service %s: %v", key, err)
		return fmt.Errorf("create endpoints %s: %w", key, err)
	}
	c.stale.created(key)
	c.metrics.changes.WithLabelValues("create").Inc()
	c.log.Debug("created endpoints", "service", key)
	return nil
}

func (c *Controller) update(ctx context.Context, key string, ep *corev1.Endpoints, oldRV string) error {
	got, err := c.client.CoreV1().Endpoints(ep.Namespace).Update(ctx, ep, metav1.UpdateOptions{})
	if err != nil {
		c.warn(ep, "FailedToUpdateEndpoint", "Could not update the Endpoints of Service %s: %v", key, err)
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	c.stale.updated(key, oldRV, got.ResourceVersion)
	c.metrics.changes.WithLabelValues("update").Inc()
	c.log.Debug("updated endpoints", "service", key)
	return nil
}

// deleteManaged deletes ep if this controller wrote it. Endpoints without the
// managed-by label (hand-written ones of selectorless Services) and leader-election
// Endpoints stay.
func (c *Controller) deleteManaged(ctx context.Context, ep *corev1.Endpoints) error {
	if ep == nil || ep.Labels[ManagedByLabel] != ManagedByValue || hasAnnotation(ep, leaderAnnotation) {
		return nil
	}
	uid := ep.UID
	err := c.client.CoreV1().Endpoints(ep.Namespace).Delete(ctx, ep.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // already gone, or replaced by a newer object
	}
	if err != nil {
		return fmt.Errorf("delete endpoints %s/%s: %w", ep.Namespace, ep.Name, err)
	}
	c.metrics.changes.WithLabelValues("delete").Inc()
	c.log.Debug("deleted endpoints", "namespace", ep.Namespace, "name", ep.Name)
	return nil
}

func (c *Controller) warn(ep *corev1.Endpoints, reason, format string, args ...any) {
	if c.opts.Recorder != nil {
		c.opts.Recorder.Eventf(ep, corev1.EventTypeWarning, reason, format, args...)
	}
}

func hasAnnotation(ep *corev1.Endpoints, key string) bool {
	_, ok := ep.Annotations[key]
	return ok
}

// desiredLabels are the Service's labels plus this controller's mark and, for
// Services without a virtual IP, the headless label.
func desiredLabels(svc *corev1.Service) map[string]string {
	l := make(map[string]string, len(svc.Labels)+2)
	maps.Copy(l, svc.Labels)
	l[ManagedByLabel] = ManagedByValue
	if serviceIPSet(svc) {
		delete(l, corev1.IsHeadlessService)
	} else {
		l[corev1.IsHeadlessService] = ""
	}
	return l
}

// desiredSubsets lists one single-address, single-port subset per Pod and resolved
// Service port (port-less for headless Services without ports); [Repack] folds
// them into canonical form.
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	var out []corev1.EndpointSubset
	publishAll := svc.Spec.PublishNotReadyAddresses
	for _, pod := range pods {
		if !includePod(pod, publishAll) {
			continue
		}
		ip, ok := podIP(pod, serviceFamily(svc, pod))
		if !ok {
			continue // e.g. a single-stack Pod of the other family
		}
		addr := corev1.EndpointAddress{
			IP: ip,
			TargetRef: &corev1.ObjectReference{
				Kind:      "Pod",
				Namespace: pod.Namespace,
				Name:      pod.Name,
				UID:       pod.UID,
			},
		}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			addr.NodeName = &node
		}
		if publishHostname(pod, svc) {
			addr.Hostname = pod.Spec.Hostname
		}
		ready := publishAll || podReady(pod)
		add := func(ports []corev1.EndpointPort) {
			s := corev1.EndpointSubset{Ports: ports}
			if ready {
				s.Addresses = []corev1.EndpointAddress{addr}
			} else {
				s.NotReadyAddresses = []corev1.EndpointAddress{addr}
			}
			out = append(out, s)
		}
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				add(nil)
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, ok := resolvePort(pod, sp)
			if !ok {
				continue
			}
			add([]corev1.EndpointPort{{
				Name:        sp.Name,
				Port:        port,
				Protocol:    protocolOr(sp.Protocol),
				AppProtocol: sp.AppProtocol,
			}})
		}
	}
	return out
}
