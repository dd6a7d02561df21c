package namespace

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// TestSyncConditions runs one pass and checks the conditions it writes through
// the status subresource (what kubectl describe namespace shows).
func TestSyncConditions(t *testing.T) {
	type summary struct{ Type, Status, Reason, Message string }
	resolved := []summary{
		{"NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"},
		{"NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions", "All legacy kube types successfully parsed"},
		{"NamespaceDeletionContentFailure", "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
		{"NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"},
		{"NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers", "All content-preserving finalizers finished"},
	}
	replace := func(repl ...summary) []summary {
		out := append([]summary(nil), resolved...)
		for _, r := range repl {
			for i := range out {
				if out[i].Type == r.Type {
					out[i] = r
				}
			}
		}
		return out
	}
	tests := []struct {
		name string
		objs []runtime.Object
		// failCollection makes deletecollection of services fail with this error.
		failCollection error
		wantErr        bool
		want           []summary
	}{
		{name: "nothing left", objs: []runtime.Object{service("a", "s1")}, want: resolved},
		{
			name: "finalizers remaining",
			objs: []runtime.Object{service("a", "held", "example.com/hold"), service("a", "s1")},
			want: replace(
				summary{"NamespaceContentRemaining", "True", "SomeResourcesRemain", "Some resources are remaining: services. has 1 resource instances"},
				summary{"NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
			),
		},
		{
			name:           "a delete failure",
			objs:           []runtime.Object{service("a", "s1")},
			failCollection: apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", errors.New("not allowed")),
			wantErr:        true,
			want: replace(
				summary{"NamespaceDeletionContentFailure", "True", "ContentDeletionFailed", "Failed to delete all resource types, 1 remaining: services is forbidden: not allowed"},
			),
		},
		{
			name:           "content remaining without a finalizer",
			objs:           []runtime.Object{service("a", "s1")},
			failCollection: apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "services"}, "deletecollection"),
			wantErr:        true,
			want: replace(
				summary{"NamespaceDeletionContentFailure", "True", "ContentDeletionFailed", "Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: a for gvr: /v1, Resource=services"},
				summary{"NamespaceContentRemaining", "True", "SomeResourcesRemain", "Some resources are remaining: services. has 1 resource instances"},
			),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, client, dyn := newTestController(t, terminating("a"), tc.objs...)
			if tc.failCollection != nil {
				dyn.PrependReactor("delete-collection", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.failCollection
				})
				// With deletecollection refused as unsupported, the one-by-one
				// deletes of this case fail too, and the object stays.
				dyn.PrependReactor("delete", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "services"}, "delete")
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := c.sync(ctx, "a")
			if (err != nil) != tc.wantErr {
				t.Errorf("sync() err = %v; want error %v", err, tc.wantErr)
			}
			ns, err := client.CoreV1().Namespaces().Get(ctx, "a", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []summary
			for _, c := range ns.Status.Conditions {
				if c.LastTransitionTime.IsZero() {
					t.Errorf("condition %s has no lastTransitionTime", c.Type)
				}
				got = append(got, summary{string(c.Type), string(c.Status), c.Reason, c.Message})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("namespace conditions mismatch (-want +got):\n%s", diff)
			}
			if ns.Status.Phase != corev1.NamespaceTerminating {
				t.Errorf("phase = %q; want Terminating", ns.Status.Phase)
			}
		})
	}
}

func TestGraceEstimate(t *testing.T) {
	pod := func(name string, grace int64, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: name},
			Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: &grace},
			Status:     corev1.PodStatus{Phase: phase},
		}
	}
	podsGVR := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	tests := []struct {
		name       string
		deletedAgo time.Duration
		gvr        schema.GroupVersionResource
		pods       []runtime.Object
		want       int64
	}{
		{name: "longest grace of running pods", gvr: podsGVR, pods: []runtime.Object{pod("p1", 30, corev1.PodRunning), pod("p2", 60, corev1.PodPending)}, want: 60},
		{name: "finished pods do not count", gvr: podsGVR, pods: []runtime.Object{pod("p1", 30, corev1.PodRunning), pod("p2", 60, corev1.PodSucceeded), pod("p3", 90, corev1.PodFailed)}, want: 30},
		{name: "grace over since the namespace was deleted", deletedAgo: time.Minute, gvr: podsGVR, pods: []runtime.Object{pod("p1", 30, corev1.PodRunning)}, want: 0},
		{name: "no pods", gvr: podsGVR, want: 0},
		{name: "other resources have no estimate", gvr: servicesGVR, pods: []runtime.Object{pod("p1", 30, corev1.PodRunning)}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := terminating("a")
			ns.DeletionTimestamp = &metav1.Time{Time: time.Now().Add(-tc.deletedAgo)}
			c, client, _ := newTestController(t, ns)
			for _, p := range tc.pods {
				if _, err := client.CoreV1().Pods("a").Create(context.Background(), p.(*corev1.Pod), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.graceEstimate(context.Background(), ns, tc.gvr)
			if err != nil {
				t.Fatalf("graceEstimate() err = %v", err)
			}
			if got != tc.want {
				t.Errorf("graceEstimate(%s) = %d; want %d", tc.gvr.Resource, got, tc.want)
			}
		})
	}
}
