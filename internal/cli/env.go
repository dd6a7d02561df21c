package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svcnet/svcnet/internal/envvars"
)

// envOptions holds the flags of `svcnet env`.
type envOptions struct {
	namespace  string
	podFile    string
	kubeconfig string
	output     string
}

// newEnvCommand returns `svcnet env`, which prints the Service environment
// variables the kubelet would give a new pod.
func newEnvCommand() *cobra.Command {
	return newEnvCommandWith(clientForKubeconfig)
}

// newEnvCommandWith builds `svcnet env` around a client factory, which receives the
// --kubeconfig value as given (tests pass a fake).
func newEnvCommandWith(newClient func(kubeconfig string) (kubernetes.Interface, error)) *cobra.Command {
	var opts envOptions
	cmd := &cobra.Command{
		Use:   "env [-n NAMESPACE] [-f POD_FILE]",
		Short: "Print the Service environment variables a new pod in a namespace would get",
		Long: `Print the Service environment variables the kubelet would inject into a new pod:
{SVC}_SERVICE_HOST, {SVC}_SERVICE_PORT, {SVC}_SERVICE_PORT_{PORT} and the Docker-links
variables, for the Services of the namespace that have a ClusterIP and for the
"kubernetes" Service of the default namespace.

With -f, the pod manifest's namespace and spec.enableServiceLinks apply (when service
links are off, only the "kubernetes" Service is visible). The kubelet's own order is
random; this prints Services by name, each in the kubelet's generation order.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.output != "env" && opts.output != "json" {
				return fmt.Errorf("unknown output format %q (want env or json)", opts.output)
			}
			ns, links, err := opts.target(cmd.InOrStdin())
			if err != nil {
				return err
			}
			client, err := newClient(opts.kubeconfig)
			if err != nil {
				return err
			}
			vars, err := serviceEnv(cmd.Context(), client, ns, links)
			if err != nil {
				return err
			}
			return writeEnv(cmd.OutOrStdout(), vars, opts.output)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.namespace, "namespace", "n", "", `namespace of the pod (default: the pod file's namespace, else "default")`)
	f.StringVarP(&opts.podFile, "filename", "f", "", "pod manifest, YAML or JSON (- for stdin), whose namespace and enableServiceLinks apply")
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the admin kubeconfig of $SVCNET_DATA_DIR or "+DefaultDataDir+")")
	f.StringVarP(&opts.output, "output", "o", "env", "output format: env (NAME=value lines) or json (a pod env list)")
	return cmd
}

// target returns the pod's namespace and whether its service links are enabled,
// from the flags and the pod file if one was given.
func (o envOptions) target(stdin io.Reader) (namespace string, links bool, err error) {
	namespace, links = o.namespace, corev1.DefaultEnableServiceLinks
	if o.podFile != "" {
		pod, err := readPod(o.podFile, stdin)
		if err != nil {
			return "", false, err
		}
		links = envvars.ServiceLinksEnabled(&pod.Spec)
		switch {
		case namespace == "":
			namespace = pod.Namespace
		case pod.Namespace != "" && pod.Namespace != namespace:
			return "", false, fmt.Errorf("the namespace of %s (%q) does not match -n %q", o.podFile, pod.Namespace, namespace)
		}
	}
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	return namespace, links, nil
}

// readPod decodes the first YAML or JSON document of path ("-" reads stdin) as a
// Pod.
func readPod(path string, stdin io.Reader) (*corev1.Pod, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read pod manifest: %w", err)
		}
		defer f.Close()
		r = f
	}
	var pod corev1.Pod
	if err := utilyaml.NewYAMLOrJSONDecoder(r, 4096).Decode(&pod); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read pod manifest %s: no object in it", path)
		}
		return nil, fmt.Errorf("read pod manifest %s: %w", path, err)
	}
	if pod.Kind != "" && pod.Kind != "Pod" {
		return nil, fmt.Errorf("read pod manifest %s: kind %q is not a Pod", path, pod.Kind)
	}
	return &pod, nil
}

// serviceEnv reads the Services a pod in ns can see and returns their variables.
// With service links off only the master `kubernetes` Service is read.
func serviceEnv(ctx context.Context, client kubernetes.Interface, ns string, links bool) ([]corev1.EnvVar, error) {
	if _, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	var services []*corev1.Service
	if links {
		list, err := client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list services in %s: %w", ns, err)
		}
		for i := range list.Items {
			services = append(services, &list.Items[i])
		}
	}
	master, err := client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, envvars.MasterServiceName, metav1.GetOptions{})
	switch {
	case err == nil:
		services = append(services, master)
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("get service %s/%s: %w", metav1.NamespaceDefault, envvars.MasterServiceName, err)
	}
	return envvars.ForPod(ns, services, links, metav1.NamespaceDefault), nil
}

// writeEnv prints vars as NAME=value lines ("env") or as a JSON list of
// {"name", "value"} objects ("json"), in the order given.
func writeEnv(w io.Writer, vars []corev1.EnvVar, format string) error {
	if format == "json" {
		if vars == nil {
			vars = []corev1.EnvVar{}
		}
		b, err := json.MarshalIndent(vars, "", "  ")
		if err != nil {
			return fmt.Errorf("encode variables: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	for _, v := range vars {
		if _, err := fmt.Fprintf(w, "%s=%s\n", v.Name, v.Value); err != nil {
			return err
		}
	}
	return nil
}

// clientForKubeconfig returns a client for the kubeconfig that client commands use
// (see clientKubeconfig).
func clientForKubeconfig(flag string) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = clientKubeconfig(flag, os.Getenv)
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return client, nil
}

// clientKubeconfig applies the rule `svcnet kubectl` follows: the --kubeconfig
// flag, else nothing explicit when KUBECONFIG is set (client-go reads it), else the
// admin kubeconfig of $SVCNET_DATA_DIR or DefaultDataDir.
func clientKubeconfig(flag string, getenv func(string) string) string {
	switch {
	case flag != "":
		return flag
	case getenv("KUBECONFIG") != "":
		return ""
	}
	dir := getenv("SVCNET_DATA_DIR")
	if dir == "" {
		dir = DefaultDataDir
	}
	return filepath.Join(dir, "admin.kubeconfig")
}
