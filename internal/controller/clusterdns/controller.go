// Package clusterdns keeps the Endpoints of kube-system/kube-dns listing the
// nodes whose agents serve cluster DNS: every Node labelled svcnet.io/dns=true,
// at its first InternalIP of the Service's IP family (on a dual-stack node the
// kube-dns Service is single-stack, in the cluster's primary family), ready
// while the Node is Ready. The mirroring
// controller turns the Endpoints into the EndpointSlice that node agents
// program, so a pod's query to the kube-dns ClusterIP reaches a node's DNS
// server.
//
// It deliberately does not create the kube-dns Service (the server's
// bootstrap does) and writes nothing while that Service is missing or has a
// selector (someone else then owns its endpoints).
package clusterdns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"reflect"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Names of the Service and the node label the agents set.
const (
	Namespace   = metav1.NamespaceSystem
	ServiceName = "kube-dns"
	// NodeLabel is "true" on a node whose agent serves DNS on port 53 of its
	// first InternalIP.
	NodeLabel = "svcnet.io/dns"
	// Port is where every agent serves DNS.
	Port = 53
)

// Controller writes kube-dns' Endpoints from Nodes.
type Controller struct {
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	services corelisters.ServiceLister
	synced   []cache.InformerSynced
	queue    chan struct{}
	log      *slog.Logger
}

// New builds the controller on factory's Node and Service informers. It
// starts nothing.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Controller{client: client, queue: make(chan struct{}, 1), log: log}
	nodes := factory.Core().V1().Nodes()
	services := factory.Core().V1().Services()
	c.nodes, c.services = nodes.Lister(), services.Lister()
	kick := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueue() },
		UpdateFunc: func(_, _ any) { c.enqueue() },
		DeleteFunc: func(any) { c.enqueue() },
	}
	_, _ = nodes.Informer().AddEventHandler(kick)
	_, _ = services.Informer().AddEventHandler(kick)
	c.synced = []cache.InformerSynced{nodes.Informer().HasSynced, services.Informer().HasSynced}
	return c
}

func (c *Controller) enqueue() {
	select {
	case c.queue <- struct{}{}:
	default:
	}
}

// Run reconciles on every change, and every minute, until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	backoff := time.Duration(0)
	for {
		if err := c.Reconcile(ctx); err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), 10*time.Second)
			c.log.Warn("write kube-dns endpoints; retrying", "err", err, "retryIn", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		select {
		case <-ctx.Done():
			return nil
		case <-c.queue:
		case <-tick.C:
		}
	}
}

// Reconcile makes the Endpoints match the nodes, once.
func (c *Controller) Reconcile(ctx context.Context) error {
	svc, err := c.services.Services(Namespace).Get(ServiceName)
	if apierrors.IsNotFound(err) || (err == nil && len(svc.Spec.Selector) > 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get service %s/%s: %w", Namespace, ServiceName, err)
	}
	sel := labels.SelectorFromSet(labels.Set{NodeLabel: "true"})
	nodes, err := c.nodes.List(sel)
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	want := desiredSubsets(nodes, serviceIsIPv6(svc))
	eps := c.client.CoreV1().Endpoints(Namespace)
	cur, err := eps.Get(ctx, ServiceName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if len(want) == 0 {
			return nil
		}
		_, err = eps.Create(ctx, &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: Namespace, Labels: svc.Labels},
			Subsets:    want,
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create endpoints %s/%s: %w", Namespace, ServiceName, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get endpoints %s/%s: %w", Namespace, ServiceName, err)
	}
	if reflect.DeepEqual(cur.Subsets, want) || (len(cur.Subsets) == 0 && len(want) == 0) {
		return nil
	}
	cur.Subsets = want
	if _, err := eps.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update endpoints %s/%s: %w", Namespace, ServiceName, err)
	}
	c.log.Info("kube-dns endpoints updated", "nodes", len(nodes))
	return nil
}

// desiredSubsets lists the DNS-serving nodes, ready or not, sorted by address,
// each at its address of the Service's family (IPv6 or IPv4).
func desiredSubsets(nodes []*corev1.Node, ipv6 bool) []corev1.EndpointSubset {
	var ready, notReady []corev1.EndpointAddress
	for _, n := range nodes {
		ip := nodeIP(n, ipv6)
		if !ip.IsValid() {
			continue
		}
		name := n.Name
		a := corev1.EndpointAddress{IP: ip.String(), NodeName: &name}
		if nodeReady(n) {
			ready = append(ready, a)
		} else {
			notReady = append(notReady, a)
		}
	}
	if len(ready)+len(notReady) == 0 {
		return nil
	}
	byIP := func(s []corev1.EndpointAddress) {
		sort.Slice(s, func(i, j int) bool { return s[i].IP < s[j].IP })
	}
	byIP(ready)
	byIP(notReady)
	return []corev1.EndpointSubset{{
		Addresses:         ready,
		NotReadyAddresses: notReady,
		Ports: []corev1.EndpointPort{
			{Name: "dns", Port: Port, Protocol: corev1.ProtocolUDP},
			{Name: "dns-tcp", Port: Port, Protocol: corev1.ProtocolTCP},
		},
	}}
}

// nodeIP returns n's first InternalIP of the family, or else its first
// InternalIP (a single-stack node in a cluster of the other family).
func nodeIP(n *corev1.Node, ipv6 bool) netip.Addr {
	var first netip.Addr
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		if ip.Is6() == ipv6 {
			return ip
		}
		if !first.IsValid() {
			first = ip
		}
	}
	return first
}

// serviceIsIPv6 reports whether svc's primary family is IPv6.
func serviceIsIPv6(svc *corev1.Service) bool {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0] == corev1.IPv6Protocol
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	return err == nil && ip.Is6()
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
