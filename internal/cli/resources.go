package cli

import (
	"context"
	"errors"
	"log/slog"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/svcnet/svcnet/internal/allocator"
	"github.com/svcnet/svcnet/internal/apiserver"
	"github.com/svcnet/svcnet/internal/apiserver/openapi"
	"github.com/svcnet/svcnet/internal/registry/allocation"
	"github.com/svcnet/svcnet/internal/registry/endpoints"
	"github.com/svcnet/svcnet/internal/registry/endpointslice"
	"github.com/svcnet/svcnet/internal/registry/event"
	"github.com/svcnet/svcnet/internal/registry/lease"
	"github.com/svcnet/svcnet/internal/registry/namespace"
	"github.com/svcnet/svcnet/internal/registry/node"
	"github.com/svcnet/svcnet/internal/registry/pod"
	"github.com/svcnet/svcnet/internal/registry/service"
	"github.com/svcnet/svcnet/internal/storage"
)

// serviceAllocations adapts allocation.Allocations for the server's run group.
type serviceAllocations struct {
	*allocation.Allocations
}

func newServiceAllocations(store *storage.Store, ips []*allocator.IPRange, ports *allocator.PortRange, log *slog.Logger) *serviceAllocations {
	return &serviceAllocations{allocation.New(store, ips, ports, log)}
}

func (s *serviceAllocations) run(ctx context.Context) error { return s.Run(ctx) }
func (s *serviceAllocations) ready() error                  { return s.Ready() }

// serviceStrategy is the Service registry plus its allocation hooks.
type serviceStrategy struct {
	apiserver.Typed[*corev1.Service]
	*allocation.Allocations
}

var (
	_ apiserver.CreateHook      = serviceStrategy{}
	_ apiserver.UpdateHook      = serviceStrategy{}
	_ apiserver.DeleteHook      = serviceStrategy{}
	_ apiserver.ConflictHandler = serviceStrategy{}
)

// podStrategy adds graceful deletion to the Pod registry.
type podStrategy struct {
	apiserver.Typed[*corev1.Pod]
}

// GracePeriod implements apiserver.GracefulDeleter: a pod bound to a node stays, marked
// with a deletionTimestamp, until its node confirms termination or the grace period
// ends; an unbound pod or a zero grace period deletes at once.
func (podStrategy) GracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool) {
	p := obj.(*corev1.Pod)
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if p.Spec.TerminationGracePeriodSeconds != nil {
		grace = *p.Spec.TerminationGracePeriodSeconds
	}
	if opts != nil && opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || grace <= 0 {
		return 0, false
	}
	return grace, true
}

// namespaceStrategy moves a namespace to Terminating when its deletion starts.
type namespaceStrategy struct {
	apiserver.Typed[*corev1.Namespace]
}

// CheckDelete implements apiserver.DeleteGuard: the namespaces the system lives in
// may not be deleted, as in kube-apiserver.
func (namespaceStrategy) CheckDelete(obj runtime.Object) error {
	switch name := obj.(*corev1.Namespace).Name; name {
	case metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic:
		return apierrors.NewForbidden(corev1.Resource("namespaces"), name, errors.New("this namespace may not be deleted"))
	}
	return nil
}

// MarkDeleting implements apiserver.DeletionMarker.
func (namespaceStrategy) MarkDeleting(obj runtime.Object) {
	obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
}

func newResources(alloc *serviceAllocations) []*apiserver.Resource {
	svc := serviceStrategy{
		Typed: apiserver.Typed[*corev1.Service]{
			DefaultFn: service.Default,
			PrepareForCreateFn: func(s *corev1.Service) {
				service.PrepareForCreate(s)
				service.DefaultIPFamilies(s, nil, alloc.Families())
			},
			PrepareForUpdateFn: func(s, old *corev1.Service) {
				service.PrepareForUpdate(s, old)
				service.DefaultIPFamilies(s, old, alloc.Families())
			},
			PrepareForStatusFn: service.PrepareForStatusUpdate,
			ValidateCreateFn: func(s *corev1.Service) field.ErrorList {
				return append(service.ValidateCreate(s), service.ValidateClusterFamilies(s, nil, alloc.Families())...)
			},
			ValidateUpdateFn: func(s, old *corev1.Service) field.ErrorList {
				if errs := service.ValidateFamilyRelease(s, old); len(errs) > 0 {
					return errs
				}
				return append(service.ValidateUpdate(s, old), service.ValidateClusterFamilies(s, old, alloc.Families())...)
			},
			ValidateStatusUpdateFn: service.ValidateStatusUpdate,
			TableColumnsFn:         service.TableColumns,
			TableRowFn:             service.TableRow,
			SelectableFieldsFn:     service.SelectableFields,
			WarningsFn:             service.Warnings,
		},
		Allocations: alloc.Allocations,
	}
	return []*apiserver.Resource{
		{
			Version: "v1", Resource: "namespaces", Kind: "Namespace", ListKind: "NamespaceList", SingularName: "namespace",
			ShortNames: []string{"ns"}, Subresources: []string{"status", "finalize"}, NoDeleteCollection: true,
			New: func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy: namespaceStrategy{apiserver.Typed[*corev1.Namespace]{
				DefaultFn: namespace.Default, PrepareForCreateFn: namespace.PrepareForCreate,
				PrepareForUpdateFn: namespace.PrepareForUpdate, PrepareForStatusFn: namespace.PrepareForStatusUpdate,
				PrepareForFinalizeFn: namespace.PrepareForFinalize,
				ValidateCreateFn:     namespace.ValidateCreate, ValidateUpdateFn: namespace.ValidateUpdate,
				ValidateStatusUpdateFn: namespace.ValidateStatusUpdate, ValidateFinalizeFn: namespace.ValidateFinalizeUpdate,
				TableColumnsFn: namespace.TableColumns, TableRowFn: namespace.TableRow, SelectableFieldsFn: namespace.SelectableFields,
			}},
		},
		{
			Version: "v1", Resource: "services", Kind: "Service", ListKind: "ServiceList", SingularName: "service", Namespaced: true,
			ShortNames: []string{"svc"}, Categories: []string{"all"}, Subresources: []string{"status"},
			New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} },
			Strategy: svc,
		},
		{
			Version: "v1", Resource: "endpoints", Kind: "Endpoints", ListKind: "EndpointsList", SingularName: "endpoints", Namespaced: true,
			ShortNames: []string{"ep"},
			// kube-apiserver's deprecation of v1 Endpoints (KEP-4974), on every response.
			Deprecation: "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice",
			New:         func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} },
			Strategy: apiserver.Typed[*corev1.Endpoints]{
				DefaultFn: endpoints.Default, PrepareForCreateFn: endpoints.PrepareForCreate, PrepareForUpdateFn: endpoints.PrepareForUpdate,
				ValidateCreateFn: endpoints.ValidateCreate, ValidateUpdateFn: endpoints.ValidateUpdate,
				TableColumnsFn: endpoints.TableColumns, TableRowFn: endpoints.TableRow, SelectableFieldsFn: endpoints.SelectableFields,
			},
		},
		{
			Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Kind: "EndpointSlice", ListKind: "EndpointSliceList",
			SingularName: "endpointslice", Namespaced: true,
			New: func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
			Strategy: apiserver.Typed[*discoveryv1.EndpointSlice]{
				DefaultFn: endpointslice.Default, PrepareForCreateFn: endpointslice.PrepareForCreate, PrepareForUpdateFn: endpointslice.PrepareForUpdate,
				ValidateCreateFn: endpointslice.ValidateCreate, ValidateUpdateFn: endpointslice.ValidateUpdate,
				TableColumnsFn: endpointslice.TableColumns, TableRowFn: endpointslice.TableRow, SelectableFieldsFn: endpointslice.SelectableFields,
			},
		},
		{
			Version: "v1", Resource: "pods", Kind: "Pod", ListKind: "PodList", SingularName: "pod", Namespaced: true,
			ShortNames: []string{"po"}, Categories: []string{"all"}, Subresources: []string{"status"},
			New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
			Strategy: podStrategy{apiserver.Typed[*corev1.Pod]{
				DefaultFn: pod.Default, PrepareForCreateFn: pod.PrepareForCreate, PrepareForUpdateFn: pod.PrepareForUpdate,
				PrepareForStatusFn: pod.PrepareForStatusUpdate,
				ValidateCreateFn:   pod.ValidateCreate, ValidateUpdateFn: pod.ValidateUpdate, ValidateStatusUpdateFn: pod.ValidateStatusUpdate,
				TableColumnsFn: pod.TableColumns, TableRowFn: pod.TableRow, SelectableFieldsFn: pod.SelectableFields,
			}},
		},
		{
			Version: "v1", Resource: "nodes", Kind: "Node", ListKind: "NodeList", SingularName: "node",
			ShortNames: []string{"no"}, Subresources: []string{"status"},
			New: func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
			Strategy: apiserver.Typed[*corev1.Node]{
				DefaultFn: node.Default, PrepareForCreateFn: node.PrepareForCreate, PrepareForUpdateFn: node.PrepareForUpdate,
				PrepareForStatusFn: node.PrepareForStatusUpdate,
				ValidateCreateFn:   node.ValidateCreate, ValidateUpdateFn: node.ValidateUpdate, ValidateStatusUpdateFn: node.ValidateStatusUpdate,
				TableColumnsFn: node.TableColumns, TableRowFn: node.TableRow, SelectableFieldsFn: node.SelectableFields,
			},
		},
		{
			Version: "v1", Resource: "events", Kind: "Event", ListKind: "EventList", SingularName: "event", Namespaced: true,
			ShortNames: []string{"ev"},
			New:        func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
			Strategy: apiserver.Typed[*corev1.Event]{
				DefaultFn: event.Default, PrepareForCreateFn: event.PrepareForCreate, PrepareForUpdateFn: event.PrepareForUpdate,
				ValidateCreateFn: event.ValidateCreate, ValidateUpdateFn: event.ValidateUpdate,
				TableColumnsFn: event.TableColumns, TableRowFn: event.TableRow, SelectableFieldsFn: event.SelectableFields,
			},
		},
		{
			Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Kind: "Lease", ListKind: "LeaseList", SingularName: "lease", Namespaced: true,
			New: func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} },
			Strategy: apiserver.Typed[*coordinationv1.Lease]{
				DefaultFn: lease.Default, PrepareForCreateFn: lease.PrepareForCreate, PrepareForUpdateFn: lease.PrepareForUpdate,
				ValidateCreateFn: lease.ValidateCreate, ValidateUpdateFn: lease.ValidateUpdate,
				TableColumnsFn: lease.TableColumns, TableRowFn: lease.TableRow, SelectableFieldsFn: lease.SelectableFields,
			},
		},
	}
}

func newOpenAPI(resources []*apiserver.Resource) (*openapi.Spec, error) {
	var in []openapi.Resource
	for _, r := range resources {
		verbs := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
		if r.NoDeleteCollection {
			verbs = verbs[:2:2]
			verbs = append(verbs, "get", "list", "patch", "update", "watch")
		}
		in = append(in, openapi.Resource{
			Group: r.Group, Version: r.Version, Kind: r.Kind, ListKind: r.ListKind, Resource: r.Resource,
			Namespaced: r.Namespaced, Verbs: verbs, Subresources: r.Subresources,
			Object: r.New(), List: r.NewList(),
		})
	}
	return openapi.New(in)
}
