package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/version"
)

// Version is the Kubernetes API level svcnet serves; kubectl compares its minor
// version with its own.
func Version() version.Info {
	return version.Info{
		Major:        "1",
		Minor:        "37",
		GitVersion:   "v1.37.2-svcnet",
		GitTreeState: "clean",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the svcnet version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), Version().GitVersion)
			return nil
		},
	}
}
