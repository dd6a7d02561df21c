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
func bootstrap(ctx context.Context, _ *storage.Store, api *apiserver.Server, alloc *serviceAllocations, log *slog.Logger) error {
	const reconcileEvery = 10 * time.Second
	for {
		wait := reconcileEvery
		if err := bootstrapOnce(ctx, api, alloc); err != nil {
			if ctx.Err() != nil {
				return nil
			}
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
