package cli

import (
	"os"
	"path/filepath"
	"strings"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

// runKubectl runs the built-in kubectl. Unless the user chose a kubeconfig (flag or
// KUBECONFIG), it uses the admin kubeconfig of the data dir ($SVCNET_DATA_DIR or
// /var/lib/svcnet).
func runKubectl(args []string) int {
	if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
		dir := os.Getenv("SVCNET_DATA_DIR")
		if dir == "" {
			dir = DefaultDataDir
		}
		os.Setenv("KUBECONFIG", filepath.Join(dir, "admin.kubeconfig"))
	}
	os.Args = append([]string{"kubectl"}, args...)
	return cli.Run(cmd.NewDefaultKubectlCommand())
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") {
			return true
		}
	}
	return false
}
