package endpoints

import corev1 "k8s.io/api/core/v1"

// PrepareForCreate does nothing: Endpoints have neither status nor fields the
// server owns.
func PrepareForCreate(ep *corev1.Endpoints) {}

// PrepareForUpdate does nothing: an update replaces the whole object.
func PrepareForUpdate(ep, old *corev1.Endpoints) {}
