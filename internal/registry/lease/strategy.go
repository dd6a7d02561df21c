package lease

import coordinationv1 "k8s.io/api/coordination/v1"

// Default does nothing: the v1 API defines no defaults for Leases.
func Default(l *coordinationv1.Lease) {}

// PrepareForCreate does nothing: a Lease has no server-owned fields.
func PrepareForCreate(l *coordinationv1.Lease) {}

// PrepareForUpdate does nothing: an update replaces the whole Lease.
func PrepareForUpdate(l, old *coordinationv1.Lease) {}
