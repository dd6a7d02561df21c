package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svcnet/svcnet/internal/apiserver"
	"github.com/svcnet/svcnet/internal/storage"
)

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap keeps the objects every cluster has in place until ctx ends: the
// system namespaces, the `kubernetes` Service in default, which gets the first
// address of the range, and the `kube-dns` Service in kube-system at the tenth. Like kube-apiserver it recreates them when deleted, checking
// every reconcileEvery (sooner while a pass fails).
// done is closed after the first successful pass, so work that needs those objects
// (the controllers' Lease lives in kube-system) can wait for it.
func bootstrap(ctx context.Context, _ *storage.Store, api *apiserver.Server, alloc *serviceAllocations, log *slog.Logger, done chan<- struct{}) error {
	const reconcileEvery = 10 * time.Second
	for {
		wait := reconcileEvery
		switch err := bootstrapOnce(ctx, api, alloc); {
		case err == nil:
			if done != nil {
				close(done)
				done = nil
			}
			if err := ensureDNSService(ctx, api, alloc); err != nil && ctx.Err() == nil {
				log.Warn("bootstrap objects", "err", err)
			}
		case ctx.Err() != nil:
			return nil
		case alloc.ready() != nil:
			// Start-up: the allocation view is still loading.
			log.Debug("bootstrap objects waiting", "err", err)
			wait = 100 * time.Millisecond
		default:
			log.Warn("bootstrap objects", "err", err)
			wait = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func bootstrapOnce(ctx context.Context, api *apiserver.Server, alloc *serviceAllocations) error {
	if err := alloc.ready(); err != nil {
		return err
	}
	for _, name := range systemNamespaces {
		if err := api.Ensure(ctx, "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
	}
	first, _ := alloc.IPRanges()[0].Nth(1)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: first.String(),
			Ports: []corev1.ServicePort{{
				Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(6443),
			}},
		},
	}
	if err := api.Ensure(ctx, "services", svc); err != nil {
		return fmt.Errorf("service default/kubernetes: %w", err)
	}
	return nil
}

// DNSServiceIndex is the position of kube-dns' ClusterIP in the service range:
// the tenth address, the Kubernetes convention.
const DNSServiceIndex = 10

// ensureDNSService creates kube-system/kube-dns, the cluster DNS Service, at
// the tenth address of the range. It has no selector: the clusterdns
// controller lists the nodes whose agents serve DNS as its endpoints.
func ensureDNSService(ctx context.Context, api *apiserver.Server, alloc *serviceAllocations) error {
	ip, ok := alloc.IPRanges()[0].Nth(DNSServiceIndex)
	if !ok {
		return nil // a range too small to hold it: no cluster DNS Service
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kube-dns", Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "svcnet-dns", "kubernetes.io/cluster-service": "true"},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			},
		},
	}
	if err := api.Ensure(ctx, "services", svc); err != nil {
		return fmt.Errorf("service kube-system/kube-dns: %w", err)
	}
	return nil
}
