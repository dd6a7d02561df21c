// Package nodelifecycle marks a Node whose agent stopped heartbeating as not
// ready, as kube-controller-manager's node lifecycle controller does: when
// neither the Node's Lease in kube-node-lease nor its Ready condition has been
// renewed within the grace period, the Ready condition becomes Unknown (kubectl
// shows NotReady) and the Ready condition of every Pod on the node turns False,
// so the endpoint controllers take those pods out of their Services.
//
// It deliberately does not taint nodes, evict or delete pods, or apply
// zone-based rate limits: svcnet runs no scheduler and no kubelet whose pods
// could be moved. A node whose agent comes back posts Ready again itself; its
// pods' readiness is then for whatever reports pod status to set again.
//
// Usage:
//
//	c := nodelifecycle.New(client, factory, nodelifecycle.Options{GracePeriod: 40 * time.Second})
//	factory.Start(ctx.Done())
//	err := c.Run(ctx)
package nodelifecycle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// LeaseNamespace holds the nodes' heartbeat Leases.
const LeaseNamespace = "kube-node-lease"

// Reason and message of the Ready condition of a node that went silent, and of
// its pods, as kube-controller-manager writes them.
const (
	ReasonNodeStatusUnknown = "NodeStatusUnknown"
	messageNodeSilent       = "svcnet agent stopped posting node status."
	ReasonNodeNotReady      = "NodeNotReady"
)

// Options tunes the controller.
type Options struct {
	// GracePeriod is how long a node may go without a heartbeat; default 40s.
	GracePeriod time.Duration
	// MonitorPeriod is how often nodes are checked; default 1s.
	MonitorPeriod time.Duration
	Log           *slog.Logger
}

// Controller watches Nodes, their Leases and Pods.
type Controller struct {
	client kubernetes.Interface
	opts   Options
	log    *slog.Logger
	nodes  corelisters.NodeLister
	leases coordinationlisters.LeaseLister
	podIdx cache.Indexer
	synced []cache.InformerSynced
}

const nodeNameIndex = "spec.nodeName"

// New registers the controller's informers on factory. It starts nothing.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) *Controller {
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = 40 * time.Second
	}
	if opts.MonitorPeriod <= 0 {
		opts.MonitorPeriod = time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nodes := factory.Core().V1().Nodes()
	leases := factory.Coordination().V1().Leases()
	pods := factory.Core().V1().Pods().Informer()
	_ = pods.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	return &Controller{
		client: client, opts: opts, log: log,
		nodes: nodes.Lister(), leases: leases.Lister(), podIdx: pods.GetIndexer(),
		synced: []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced, pods.HasSynced},
	}
}

// Run checks the nodes every MonitorPeriod until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.log.Info("starting node lifecycle controller", "gracePeriod", c.opts.GracePeriod)
	defer c.log.Info("stopped node lifecycle controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	// Nodes get a full grace period from the controller's start: a controller
	// that just took over must not judge heartbeats it could not have seen.
	started := time.Now()
	tick := time.NewTicker(c.opts.MonitorPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if now.Sub(started) < c.opts.GracePeriod {
				continue
			}
			if err := c.Check(ctx, now); err != nil && ctx.Err() == nil {
				c.log.Warn("check nodes", "err", err)
			}
		}
	}
}

// Check marks the nodes silent at now as not ready.
func (c *Controller) Check(ctx context.Context, now time.Time) error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	var firstErr error
	for _, node := range nodes {
		if err := c.checkNode(ctx, node, now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// lastHeartbeat is the later of the Lease's renewTime and the Ready
// condition's lastHeartbeatTime.
func (c *Controller) lastHeartbeat(node *corev1.Node, ready *corev1.NodeCondition) time.Time {
	var last time.Time
	if ready != nil {
		last = ready.LastHeartbeatTime.Time
	}
	lease, err := c.leases.Leases(LeaseNamespace).Get(node.Name)
	if err == nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(last) {
		last = lease.Spec.RenewTime.Time
	}
	return last
}

func (c *Controller) checkNode(ctx context.Context, node *corev1.Node, now time.Time) error {
	var ready *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	if ready == nil || ready.Status != corev1.ConditionTrue {
		return nil
	}
	last := c.lastHeartbeat(node, ready)
	if now.Sub(last) <= c.opts.GracePeriod {
		return nil
	}
	node = node.DeepCopy()
	for i := range node.Status.Conditions {
		cond := &node.Status.Conditions[i]
		if cond.Type == corev1.NodeReady {
			cond.Status = corev1.ConditionUnknown
			cond.Reason = ReasonNodeStatusUnknown
			cond.Message = messageNodeSilent
			cond.LastTransitionTime = metav1.NewTime(now)
		}
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return nil // the agent just posted, or the node is gone: next check decides
		}
		return fmt.Errorf("mark node %s not ready: %w", node.Name, err)
	}
	c.log.Warn("node stopped heartbeating; marked not ready", "node", node.Name, "lastHeartbeat", last)
	return c.markPodsNotReady(ctx, node.Name, now)
}

// markPodsNotReady turns the Ready condition of the node's pods False.
func (c *Controller) markPodsNotReady(ctx context.Context, nodeName string, now time.Time) error {
	objs, err := c.podIdx.ByIndex(nodeNameIndex, nodeName)
	if err != nil {
		return fmt.Errorf("pods of node %s: %w", nodeName, err)
	}
	var firstErr error
	for _, o := range objs {
		pod := o.(*corev1.Pod).DeepCopy()
		changed := false
		for i := range pod.Status.Conditions {
			cond := &pod.Status.Conditions[i]
			if cond.Type == corev1.PodReady && cond.Status != corev1.ConditionFalse {
				cond.Status, cond.Reason, cond.LastTransitionTime = corev1.ConditionFalse, ReasonNodeNotReady, metav1.NewTime(now)
				changed = true
			}
		}
		if !changed {
			continue
		}
		if _, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil &&
			!apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && firstErr == nil {
			firstErr = fmt.Errorf("mark pod %s/%s not ready: %w", pod.Namespace, pod.Name, err)
		}
	}
	return firstErr
}
