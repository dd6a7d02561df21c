package endpointslice

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// addHandlers registers the event handlers. Each one only works out which
// Services an event concerns and queues them.
func (c *Controller) addHandlers(svcInf, podInf, nodeInf, sliceInf cache.SharedIndexInformer) {
	_, _ = svcInf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    c.onServiceAdd,
		UpdateFunc: func(_, obj any) { c.onServiceAdd(obj, false) },
		DeleteFunc: c.onServiceDelete,
	})
	_, _ = podInf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    c.onPodAdd,
		UpdateFunc: c.onPodUpdate,
		DeleteFunc: c.onPodDelete,
	})
	_, _ = nodeInf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    c.onNodeAdd,
		UpdateFunc: c.onNodeUpdate,
		DeleteFunc: c.onNodeDelete,
	})
	_, _ = sliceInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.onSliceAdd,
		UpdateFunc: c.onSliceUpdate,
		DeleteFunc: c.onSliceDelete,
	})
}

// onServiceAdd queues a new or changed Service. Services of the initial list
// carry no trigger time: nothing changed that the controller saw.
func (c *Controller) onServiceAdd(obj any, initial bool) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	key := svc.Namespace + "/" + svc.Name
	if !initial {
		c.triggers.observe(key, c.clock.Now())
	}
	c.queue.Add(key)
}

// onServiceDelete queues a deleted Service, whose sync forgets it.
func (c *Controller) onServiceDelete(obj any) {
	if svc, ok := unwrap[*corev1.Service](obj); ok {
		c.queue.Add(svc.Namespace + "/" + svc.Name)
	}
}

func (c *Controller) onPodAdd(obj any, initial bool) {
	if initial {
		// Every Service is queued by its own initial Add.
		return
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		c.enqueuePodServices(pod, nil)
	}
}

// onPodUpdate queues the Services of a Pod whose change can matter to them:
// those selecting it before and after a relabelling, or those selecting it when
// an endpoint field changed.
func (c *Controller) onPodUpdate(old, obj any) {
	oldPod, ok1 := old.(*corev1.Pod)
	pod, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == pod.ResourceVersion {
		return
	}
	switch {
	case !maps.Equal(oldPod.Labels, pod.Labels):
		c.enqueuePodServices(pod, oldPod)
	case podEndpointChanged(oldPod, pod):
		c.enqueuePodServices(pod, nil)
	}
}

func (c *Controller) onPodDelete(obj any) {
	if pod, ok := unwrap[*corev1.Pod](obj); ok {
		c.enqueuePodServices(pod, nil)
	}
}

// onNodeAdd queues the Services of the Pods on a new Node: they may have been
// skipped while it was missing.
func (c *Controller) onNodeAdd(obj any, initial bool) {
	if node, ok := obj.(*corev1.Node); ok && !initial {
		c.enqueueNodeServices(node.Name)
	}
}

// onNodeUpdate queues the Services of the Pods on a Node whose zone changed.
func (c *Controller) onNodeUpdate(old, obj any) {
	oldNode, ok1 := old.(*corev1.Node)
	node, ok2 := obj.(*corev1.Node)
	if ok1 && ok2 && oldNode.Labels[corev1.LabelTopologyZone] != node.Labels[corev1.LabelTopologyZone] {
		c.enqueueNodeServices(node.Name)
	}
}

// onNodeDelete queues the Services of the Pods on a deleted Node, which leave
// their slices (unless the Service publishes not-ready addresses).
func (c *Controller) onNodeDelete(obj any) {
	if node, ok := unwrap[*corev1.Node](obj); ok {
		c.enqueueNodeServices(node.Name)
	}
}

func (c *Controller) onSliceAdd(obj any) {
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
		c.sliceChanged(s)
	}
}

func (c *Controller) onSliceUpdate(old, obj any) {
	oldSlice, ok1 := old.(*discoveryv1.EndpointSlice)
	s, ok2 := obj.(*discoveryv1.EndpointSlice)
	if !ok1 || !ok2 {
		return
	}
	oldKey, wasOurs := serviceKeyOf(oldSlice)
	newKey, isOurs := serviceKeyOf(s)
	if wasOurs && (!isOurs || oldKey != newKey) {
		// The slice left its Service (relabelled or taken over by another
		// manager): that Service has lost a slice.
		c.expect.forgetSlice(oldKey, oldSlice.Name)
		c.queue.Add(oldKey)
	}
	if isOurs {
		c.sliceChanged(s)
	}
}

// onSliceDelete queues the Service of one of our slices deleted by someone else.
func (c *Controller) onSliceDelete(obj any) {
	s, ok := unwrap[*discoveryv1.EndpointSlice](obj)
	if !ok {
		return
	}
	key, ours := serviceKeyOf(s)
	if !ours {
		return
	}
	own := c.expect.observeDeleted(key, s.Name)
	if !own || c.expect.resume(key) {
		c.queue.Add(key)
	}
}

// unwrap returns the object of a delete event, which may be a tombstone.
func unwrap[T any](obj any) (T, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	t, ok := obj.(T)
	return t, ok
}

// sliceChanged queues the Service of one of our slices unless the event only
// reports the controller's own write (or an older state of the slice) and no sync
// of the Service is waiting for the cache to catch up.
func (c *Controller) sliceChanged(s *discoveryv1.EndpointSlice) {
	key, ok := serviceKeyOf(s)
	if !ok || c.expect.ownWrite(key, s) && !c.expect.resume(key) {
		return
	}
	c.queue.Add(key)
}

// enqueuePodServices queues the Services selecting pod or, when old is not nil,
// selecting old (the Pod before its labels changed).
func (c *Controller) enqueuePodServices(pod, old *corev1.Pod) {
	now := c.clock.Now()
	svcs, err := c.services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if !selectsPods(svc) {
			continue
		}
		if !selectorMatches(svc.Spec.Selector, pod.Labels) && (old == nil || !selectorMatches(svc.Spec.Selector, old.Labels)) {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		c.triggers.observe(key, now)
		if c.batch > 0 {
			c.queue.AddAfter(key, c.batch)
		} else {
			c.queue.Add(key)
		}
	}
}

// enqueueNodeServices queues the Services selecting a Pod on the named Node.
func (c *Controller) enqueueNodeServices(node string) {
	var pods []any
	if c.podsByNode {
		var err error
		if pods, err = c.podIndex.ByIndex(podNodeIndex, node); err != nil {
			return
		}
	} else {
		for _, o := range c.podIndex.List() {
			if p, ok := o.(*corev1.Pod); ok && p.Spec.NodeName == node {
				pods = append(pods, p)
			}
		}
	}
	// Many Pods of a Node share Services: look each namespace's Services up once.
	byNS := map[string][]*corev1.Service{}
	queued := map[string]bool{}
	now := c.clock.Now()
	for _, o := range pods {
		pod, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		svcs, seen := byNS[pod.Namespace]
		if !seen {
			all, err := c.services.Services(pod.Namespace).List(labels.Everything())
			if err != nil {
				continue
			}
			svcs = slices.DeleteFunc(all, func(s *corev1.Service) bool { return !selectsPods(s) })
			byNS[pod.Namespace] = svcs
		}
		for _, svc := range svcs {
			key := svc.Namespace + "/" + svc.Name
			if queued[key] || !selectorMatches(svc.Spec.Selector, pod.Labels) {
				continue
			}
			queued[key] = true
			c.triggers.observe(key, now)
			c.queue.Add(key)
		}
	}
}

// selectorMatches reports whether a Service selector matches a label set, as
// labels.SelectorFromSet would, without building a selector.
func selectorMatches(selector, podLabels map[string]string) bool {
	for k, v := range selector {
		if got, ok := podLabels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// podEndpointChanged reports whether a Pod update (labels aside) can change the
// endpoints built from it.
func podEndpointChanged(old, pod *corev1.Pod) bool {
	if old.UID != pod.UID || old.Spec.NodeName != pod.Spec.NodeName ||
		old.Spec.Hostname != pod.Spec.Hostname || old.Spec.Subdomain != pod.Spec.Subdomain ||
		(old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil) ||
		isTerminal(old) != isTerminal(pod) || isPodReady(old) != isPodReady(pod) ||
		old.Status.PodIP != pod.Status.PodIP ||
		!slices.Equal(old.Status.PodIPs, pod.Status.PodIPs) {
		return true
	}
	return !containerPortsEqual(old.Spec.Containers, pod.Spec.Containers) ||
		!containerPortsEqual(old.Spec.InitContainers, pod.Spec.InitContainers)
}

// containerPortsEqual compares the ports (and, for init containers, restart
// policies) that named targetPorts resolve against.
func containerPortsEqual(a, b []corev1.Container) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i].Ports, b[i].Ports) || isSidecar(&a[i]) != isSidecar(&b[i]) {
			return false
		}
	}
	return true
}
