package namespace

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var servicesGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}

func terminating(name string) *corev1.Namespace {
	now := metav1.Now()
	return &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, DeletionTimestamp: &now},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
}

func service(ns, name string, finalizers ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Service")
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetFinalizers(finalizers)
	return u
}

func newTestController(t *testing.T, ns *corev1.Namespace, objs ...runtime.Object) (*Controller, *fake.Clientset, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	client := fake.NewClientset(ns)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{servicesGVR: "ServiceList"}, objs...)
	// The fake tracker has no deletecollection; emulate the server: delete what
	// holds no finalizer, mark the rest.
	dyn.PrependReactor("delete-collection", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		list, err := dyn.Tracker().List(servicesGVR, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, it := range list.(*unstructured.UnstructuredList).Items {
			if len(it.GetFinalizers()) == 0 {
				_ = dyn.Tracker().Delete(servicesGVR, it.GetNamespace(), it.GetName())
				continue
			}
			now := metav1.Now()
			it.SetDeletionTimestamp(&now)
			_ = dyn.Tracker().Update(servicesGVR, &it, it.GetNamespace())
		}
		return true, nil, nil
	})
	c := New(client, dyn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.resources = func() ([]*metav1.APIResourceList, error) {
		return []*metav1.APIResourceList{{
			GroupVersion: "v1",
			APIResources: []metav1.APIResource{{Name: "services", Namespaced: true, Kind: "Service", Verbs: []string{"list", "delete", "deletecollection"}}},
		}}, nil
	}
	c.lister = func(name string) (*corev1.Namespace, error) {
		return client.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	}
	return c, client, dyn
}

func TestSync(t *testing.T) {
	tests := []struct {
		name          string
		ns            *corev1.Namespace
		objs          []runtime.Object
		wantDone      bool
		wantFinalized bool
		wantLeft      int
	}{
		{name: "empty terminating namespace is finalized", ns: terminating("a"), wantDone: true, wantFinalized: true},
		{name: "content is deleted, then finalized", ns: terminating("a"), objs: []runtime.Object{service("a", "s1"), service("a", "s2"), service("b", "other")}, wantDone: true, wantFinalized: true, wantLeft: 1},
		{name: "held content keeps the namespace", ns: terminating("a"), objs: []runtime.Object{service("a", "held", "example.com/hold")}, wantDone: false, wantLeft: 1},
		{name: "active namespace is left alone", ns: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}}}, objs: []runtime.Object{service("a", "s1")}, wantDone: true, wantLeft: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, client, dyn := newTestController(t, tc.ns, tc.objs...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done, err := c.sync(ctx, tc.ns.Name)
			if err != nil {
				t.Fatalf("sync() err = %v", err)
			}
			if done != tc.wantDone {
				t.Errorf("sync() done = %v; want %v", done, tc.wantDone)
			}
			ns, err := client.CoreV1().Namespaces().Get(ctx, tc.ns.Name, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
			finalized := err == nil && len(ns.Spec.Finalizers) == 0
			if finalized != tc.wantFinalized {
				t.Errorf("finalized = %v; want %v (namespace %+v)", finalized, tc.wantFinalized, ns)
			}
			all, err := dyn.Resource(servicesGVR).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all.Items) != tc.wantLeft {
				t.Errorf("services left = %d; want %d", len(all.Items), tc.wantLeft)
			}
		})
	}
}
