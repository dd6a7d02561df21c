package node

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// SelectableFields returns the fields a field selector may match on a Node:
// metadata.name and spec.unschedulable ("true" or "false"). Nodes are
// cluster-scoped, so there is no metadata.namespace.
func SelectableFields(n *corev1.Node) fields.Set {
	return fields.Set{
		"metadata.name":      n.Name,
		"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable),
	}
}
