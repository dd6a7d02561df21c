package pod

import (
	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
)

// pullPolicy is the default image pull policy for image: Always when the
// reference names the "latest" tag, explicitly or by naming neither tag nor
// digest; IfNotPresent otherwise, including for references that do not parse.
func pullPolicy(image string) corev1.PullPolicy {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return corev1.PullIfNotPresent
	}
	tagged, hasTag := named.(reference.Tagged)
	_, hasDigest := named.(reference.Digested)
	if (hasTag && tagged.Tag() == "latest") || (!hasTag && !hasDigest) {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}
