package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svcnet/svcnet/internal/controller/clusterdns"
)

func newResolvConfCommand() *cobra.Command {
	return newResolvConfCommandWith(clientForKubeconfig)
}

// newResolvConfCommandWith builds `svcnet resolv-conf` around a client factory
// (tests pass a fake).
func newResolvConfCommandWith(newClient func(kubeconfig string) (kubernetes.Interface, error)) *cobra.Command {
	var namespace, domain, kubeconfig string
	cmd := &cobra.Command{
		Use:   "resolv-conf",
		Short: "Print the /etc/resolv.conf the kubelet writes for a pod with dnsPolicy ClusterFirst",
		Long: `Print the /etc/resolv.conf of a pod in a namespace with dnsPolicy ClusterFirst (the
default): the kube-dns Service's ClusterIP as the only nameserver, the search list
<namespace>.svc.<domain> svc.<domain> <domain>, and ndots:5.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := newClient(kubeconfig)
			if err != nil {
				return err
			}
			return writeResolvConf(cmd.Context(), cmd.OutOrStdout(), client, namespace, domain)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&namespace, "namespace", "n", metav1.NamespaceDefault, "namespace of the pod")
	f.StringVar(&domain, "cluster-domain", "cluster.local", "the cluster's DNS domain (the agents' --cluster-domain)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the admin kubeconfig of $SVCNET_DATA_DIR or "+DefaultDataDir+")")
	return cmd
}

func writeResolvConf(ctx context.Context, w io.Writer, client kubernetes.Interface, namespace, domain string) error {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if err := validDomain(domain); err != nil {
		return fmt.Errorf("--cluster-domain: %w", err)
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("get namespace %s: %w", namespace, err)
	}
	svc, err := client.CoreV1().Services(clusterdns.Namespace).Get(ctx, clusterdns.ServiceName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("service %s/%s not found: this cluster has no cluster DNS Service", clusterdns.Namespace, clusterdns.ServiceName)
	}
	if err != nil {
		return fmt.Errorf("get service %s/%s: %w", clusterdns.Namespace, clusterdns.ServiceName, err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == "None" {
		return fmt.Errorf("service %s/%s has no ClusterIP", clusterdns.Namespace, clusterdns.ServiceName)
	}
	_, err = fmt.Fprintf(w, "nameserver %s\nsearch %s.svc.%s svc.%s %s\noptions ndots:5\n", svc.Spec.ClusterIP, namespace, domain, domain, domain)
	return err
}
