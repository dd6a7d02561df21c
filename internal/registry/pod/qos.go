package pod

import corev1 "k8s.io/api/core/v1"

// qosClass classifies a pod by the cpu and memory of its regular and init
// containers: BestEffort when none requests or limits anything, Guaranteed
// when every container limits both and the summed requests equal the summed
// limits, Burstable otherwise. Pod-level resources are not considered.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	guaranteed := true
	containers := append(append([]corev1.Container{}, spec.Containers...), spec.InitContainers...)
	for _, c := range containers {
		addPositive(requests, c.Resources.Requests)
		limited := addPositive(limits, c.Resources.Limits)
		if !limited[corev1.ResourceCPU] || !limited[corev1.ResourceMemory] {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
		if guaranteed {
			return corev1.PodQOSGuaranteed
		}
	}
	return corev1.PodQOSBurstable
}

// addPositive adds the positive cpu and memory quantities of from into sum
// and reports which of the two it found.
func addPositive(sum, from corev1.ResourceList) map[corev1.ResourceName]bool {
	found := map[corev1.ResourceName]bool{}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		q, ok := from[name]
		if !ok || q.Sign() <= 0 {
			continue
		}
		found[name] = true
		total := q.DeepCopy()
		if prev, ok := sum[name]; ok {
			total.Add(prev)
		}
		sum[name] = total
	}
	return found
}
