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
// system namespaces and the `kubernetes` Service in default, which gets the first
// address of the range. Like kube-apiserver it recreates them when deleted, checking
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
	first, _ := alloc.IPRange().Nth(1)
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
