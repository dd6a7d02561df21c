// Package apiendpoints keeps the Endpoints of the default/kubernetes Service
// listing this API server, as kube-apiserver's endpoint reconciler does, so that
// pods reach the API at the Service's ClusterIP. The mirroring controller turns
// the Endpoints into an EndpointSlice, which node agents program.
//
// Every server runs one (it is not leader-elected): each adds its own address
// and port and keeps the others'. It deliberately does not remove the address
// of a server that went away (kube-apiserver tracks server leases for that), and
// does nothing for a loopback advertise address, which no pod can reach.
package apiendpoints

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Reconciler adds one server's address to default/kubernetes' Endpoints.
type Reconciler struct {
	client kubernetes.Interface
	addr   netip.Addr
	port   int32
	every  time.Duration
	log    *slog.Logger
}

// New returns a reconciler for a server reachable at addr:port. It starts
// nothing.
func New(client kubernetes.Interface, addr netip.Addr, port int32, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Reconciler{client: client, addr: addr, port: port, every: 10 * time.Second, log: log}
}

// Run reconciles now and every 10 seconds until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	if !r.addr.IsValid() || r.addr.IsLoopback() || r.addr.IsUnspecified() {
		r.log.Info("not publishing this server in default/kubernetes: its advertise address is not reachable from pods", "address", r.addr)
		return nil
	}
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		if err := r.Reconcile(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("publish this server in default/kubernetes", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Reconcile makes the Endpoints list this server, once.
func (r *Reconciler) Reconcile(ctx context.Context) error {
	eps := r.client.CoreV1().Endpoints(metav1.NamespaceDefault)
	cur, err := eps.Get(ctx, "kubernetes", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = eps.Create(ctx, &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault},
			Subsets:    []corev1.EndpointSubset{r.subset(nil)},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // another server was first; the next round merges
		}
		if err != nil {
			return fmt.Errorf("create endpoints default/kubernetes: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get endpoints default/kubernetes: %w", err)
	}
	var others []corev1.EndpointAddress
	if len(cur.Subsets) == 1 && len(cur.Subsets[0].Ports) == 1 && cur.Subsets[0].Ports[0].Port == r.port {
		others = cur.Subsets[0].Addresses
	}
	want := []corev1.EndpointSubset{r.subset(others)}
	if equalSubsets(cur.Subsets, want) {
		return nil
	}
	cur.Subsets = want
	if _, err := eps.Update(ctx, cur, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("update endpoints default/kubernetes: %w", err)
	}
	return nil
}

// subset lists others plus this server, sorted, on the https port.
func (r *Reconciler) subset(others []corev1.EndpointAddress) corev1.EndpointSubset {
	addrs := []corev1.EndpointAddress{{IP: r.addr.String()}}
	for _, a := range others {
		if a.IP != r.addr.String() {
			addrs = append(addrs, corev1.EndpointAddress{IP: a.IP})
		}
	}
	slices.SortFunc(addrs, func(a, b corev1.EndpointAddress) int {
		x, _ := netip.ParseAddr(a.IP)
		y, _ := netip.ParseAddr(b.IP)
		return x.Compare(y)
	})
	return corev1.EndpointSubset{Addresses: addrs, Ports: []corev1.EndpointPort{{Name: "https", Port: r.port, Protocol: corev1.ProtocolTCP}}}
}

func equalSubsets(a, b []corev1.EndpointSubset) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.EqualFunc(a[i].Addresses, b[i].Addresses, func(x, y corev1.EndpointAddress) bool { return x.IP == y.IP }) ||
			!slices.Equal(a[i].Ports, b[i].Ports) || len(a[i].NotReadyAddresses) > 0 {
			return false
		}
	}
	return true
}
