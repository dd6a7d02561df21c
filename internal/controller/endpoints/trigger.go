package endpoints

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// triggerTracker computes the endpoints.kubernetes.io/last-change-trigger-time
// value: the earliest time among the Pod and Service changes observed since the
// Service's previous sync. A Pod's change time is its Ready condition's last
// transition; a Service's is its creation. The first sync of a Service reports
// the Service's creation.
//
// It is safe for concurrent use with different keys; the workqueue guarantees a
// key is never synced by two workers at once.
type triggerTracker struct {
	mu     sync.Mutex
	states map[string]triggerState
}

type triggerState struct {
	service time.Time
	pods    map[string]time.Time
}

func newTriggerTracker() *triggerTracker {
	return &triggerTracker{states: map[string]triggerState{}}
}

// observe records the current Pod and Service times for key and returns the
// trigger time to publish; zero means none.
func (t *triggerTracker) observe(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	prev, known := t.states[key]
	t.mu.Unlock()

	var earliest time.Time
	consider := func(ts time.Time) {
		if earliest.IsZero() || ts.Before(earliest) {
			earliest = ts
		}
	}
	next := triggerState{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	for _, pod := range pods {
		c := readyCondition(pod)
		if c == nil || c.LastTransitionTime.IsZero() {
			continue
		}
		ts := c.LastTransitionTime.Time
		next.pods[pod.Name] = ts
		if ts.After(prev.pods[pod.Name]) {
			consider(ts)
		}
	}
	if next.service.After(prev.service) {
		consider(next.service)
	}

	t.mu.Lock()
	t.states[key] = next
	t.mu.Unlock()
	if !known {
		return svc.CreationTimestamp.Time
	}
	return earliest
}

// forget drops the state of a Service that is gone.
func (t *triggerTracker) forget(key string) {
	t.mu.Lock()
	delete(t.states, key)
	t.mu.Unlock()
}
