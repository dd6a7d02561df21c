package agent

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// NodeLeaseNamespace holds one Lease per node, renewed by its agent.
const NodeLeaseNamespace = "kube-node-lease"

// statusEvery is how often the Node's Ready condition is posted again.
const statusEvery = time.Minute

// registerNode creates the Node (or takes over an existing one), then posts its
// addresses and a Ready condition.
func (a *Agent) registerNode(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node = &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: map[string]string{
				corev1.LabelHostname: a.cfg.NodeName,
				corev1.LabelOSStable: "linux",
			}},
		}
		if len(a.cfg.PodCIDRs) > 0 {
			node.Spec.PodCIDR, node.Spec.PodCIDRs = a.cfg.PodCIDRs[0], slices.Clone(a.cfg.PodCIDRs)
		}
		maps.Copy(node.Labels, a.cfg.Labels)
		node, err = nodes.Create(ctx, node, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", a.cfg.NodeName, err)
	}
	update := false
	if len(a.cfg.PodCIDRs) > 0 && node.Spec.PodCIDR == "" {
		node.Spec.PodCIDR, node.Spec.PodCIDRs = a.cfg.PodCIDRs[0], slices.Clone(a.cfg.PodCIDRs)
		update = true
	}
	for k, v := range a.cfg.Labels {
		if node.Labels[k] != v {
			if node.Labels == nil {
				node.Labels = map[string]string{}
			}
			node.Labels[k] = v
			update = true
		}
	}
	if update {
		if node, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update node %s: %w", a.cfg.NodeName, err)
		}
	}
	return a.postStatus(ctx, node)
}

// postStatus writes the node's addresses and a fresh Ready condition.
func (a *Agent) postStatus(ctx context.Context, node *corev1.Node) error {
	now := metav1.Now()
	var addrs []corev1.NodeAddress
	for _, ip := range a.cfg.NodeIPs {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip.String()})
	}
	addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: a.cfg.NodeName})
	node.Status.Addresses = addrs
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "AgentReady",
		Message: "svcnet agent is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	}
	found := false
	for i, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				ready.LastTransitionTime = c.LastTransitionTime
			}
			node.Status.Conditions[i] = ready
			found = true
		}
	}
	if !found {
		node.Status.Conditions = append(node.Status.Conditions, ready)
	}
	if _, err := a.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("post status of node %s: %w", a.cfg.NodeName, err)
	}
	return nil
}

// heartbeat renews the node's Lease every quarter of its duration, and posts
// the Node's status every statusEvery (or after the node was marked not ready),
// until ctx ends. Failures are logged and retried on the next tick.
func (a *Agent) heartbeat(ctx context.Context) {
	tick := time.NewTicker(a.cfg.LeaseDuration / 4)
	defer tick.Stop()
	lastStatus := time.Now()
	for {
		if err := a.renewLease(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.metrics.heartbeats.WithLabelValues("error").Inc()
			a.log.Warn("renew node lease", "node", a.cfg.NodeName, "err", err)
		} else {
			a.metrics.heartbeats.WithLabelValues("ok").Inc()
		}
		if err := a.refreshStatus(ctx, time.Since(lastStatus) >= statusEvery); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("post node status", "node", a.cfg.NodeName, "err", err)
		} else {
			lastStatus = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// refreshStatus posts the Node's status when due, or when the node lifecycle
// controller marked it not ready while this agent was away.
func (a *Agent) refreshStatus(ctx context.Context, due bool) error {
	node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return a.registerNode(ctx)
	}
	if err != nil {
		return fmt.Errorf("get node %s: %w", a.cfg.NodeName, err)
	}
	if !due && nodeReady(node) {
		return nil
	}
	return a.postStatus(ctx, node)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(NodeLeaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	secs := int32(a.cfg.LeaseDuration / time.Second)
	lease, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: NodeLeaseNamespace},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(a.cfg.NodeName), LeaseDurationSeconds: &secs,
				AcquireTime: &now, RenewTime: &now},
		}
		if node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); err == nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
	lease.Spec.LeaseDurationSeconds = &secs
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
