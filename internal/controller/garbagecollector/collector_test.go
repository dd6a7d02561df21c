package garbagecollector

import (
	"context"
	"io"
	"log/slog"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	metadatafake "k8s.io/client-go/metadata/fake"
)

var (
	slicesGVR   = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
	servicesGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}
)

func obj(apiVersion, kind, ns, name, uid string, owners ...metav1.OwnerReference) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid), OwnerReferences: owners},
	}
}

func ownedBy(name, uid string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: name, UID: types.UID(uid)}
}

func TestSync(t *testing.T) {
	tests := []struct {
		name        string
		objects     []runtime.Object
		wantDeleted bool
	}{
		{name: "owner exists", objects: []runtime.Object{obj("v1", "Service", "ns", "web", "u1"), obj("discovery.k8s.io/v1", "EndpointSlice", "ns", "web-abc", "s1", ownedBy("web", "u1"))}},
		{name: "owner gone", objects: []runtime.Object{obj("discovery.k8s.io/v1", "EndpointSlice", "ns", "web-abc", "s1", ownedBy("web", "u1"))}, wantDeleted: true},
		{name: "owner recreated with another uid", objects: []runtime.Object{obj("v1", "Service", "ns", "web", "u2"), obj("discovery.k8s.io/v1", "EndpointSlice", "ns", "web-abc", "s1", ownedBy("web", "u1"))}, wantDeleted: true},
		{name: "one of two owners alive", objects: []runtime.Object{obj("v1", "Service", "ns", "b", "u2"), obj("discovery.k8s.io/v1", "EndpointSlice", "ns", "web-abc", "s1", ownedBy("a", "u1"), ownedBy("b", "u2"))}},
		{name: "unknown owner kind is kept", objects: []runtime.Object{obj("discovery.k8s.io/v1", "EndpointSlice", "ns", "web-abc", "s1", metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w", UID: "u9"})}},
	}
	scheme := runtime.NewScheme()
	metav1.AddMetaToScheme(scheme)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := metadatafake.NewSimpleMetadataClient(scheme, tc.objects...)
			c := New(client, NewFactory(client), Options{
				Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
				Dependents: []schema.GroupVersionResource{slicesGVR},
				Mapper:     mapper,
			})
			if err := c.sync(context.Background(), item{gvr: slicesGVR, namespace: "ns", name: "web-abc"}); err != nil {
				t.Fatalf("sync() err = %v", err)
			}
			_, err := client.Resource(slicesGVR).Namespace("ns").Get(context.Background(), "web-abc", metav1.GetOptions{})
			if deleted := apierrors.IsNotFound(err); deleted != tc.wantDeleted {
				t.Errorf("deleted = %v (err %v); want %v", deleted, err, tc.wantDeleted)
			}
		})
	}
}
