package event

import corev1 "k8s.io/api/core/v1"

// Default does nothing: the v1 API defines no defaults for Events.
func Default(ev *corev1.Event) {}

// PrepareForCreate does nothing: an Event has no server-owned fields.
func PrepareForCreate(ev *corev1.Event) {}

// PrepareForUpdate does nothing: recorders update count and timestamps by
// replacing the whole Event.
func PrepareForUpdate(ev, old *corev1.Event) {}
