package cli

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

func TestResolvConfCommand(t *testing.T) {
	ns := func(name string) runtime.Object { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	kubeDNS := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10"}}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		args    []string
		want    string
		wantErr string
	}{
		{name: "namespace core", objects: []runtime.Object{ns("core"), kubeDNS}, args: []string{"-n", "core"},
			want: "nameserver 10.96.0.10\nsearch core.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"},
		{name: "default namespace and another domain", objects: []runtime.Object{ns("default"), kubeDNS}, args: []string{"--cluster-domain", "Corp.Example."},
			want: "nameserver 10.96.0.10\nsearch default.svc.corp.example svc.corp.example corp.example\noptions ndots:5\n"},
		{name: "missing namespace", objects: []runtime.Object{kubeDNS}, args: []string{"-n", "nope"}, wantErr: `namespaces "nope" not found`},
		{name: "no kube-dns", objects: []runtime.Object{ns("default")}, wantErr: "no cluster DNS Service"},
		{name: "bad domain", objects: []runtime.Object{ns("default"), kubeDNS}, args: []string{"--cluster-domain", "a..b"}, wantErr: "--cluster-domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newResolvConfCommandWith(func(string) (kubernetes.Interface, error) { return fake.NewClientset(tc.objects...), nil })
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", out.String(), tc.want)
			}
		})
	}
}
