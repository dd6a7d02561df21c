package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// DefaultDataDir is where svcnet keeps its state unless --data-dir says otherwise.
const DefaultDataDir = "/var/lib/svcnet"

// Main runs svcnet with the process arguments and returns the exit code.
func Main(args []string) int {
	if filepath.Base(args[0]) == "kubectl" {
		return runKubectl(args[1:])
	}
	if len(args) > 1 && args[1] == "kubectl" {
		return runKubectl(args[2:])
	}
	root := newRoot()
	root.SetArgs(args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "svcnet: %v\n", err)
		return 1
	}
	return 0
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "svcnet",
		Short:         "Kubernetes Service networking: API server, controllers, data plane and DNS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCommand("up", "Run everything on this machine (server with embedded etcd)"))
	root.AddCommand(newServerCommand("server", "Run the API server and controllers"))
	root.AddCommand(&cobra.Command{
		Use:                "kubectl",
		Short:              "Run kubectl against this cluster (admin kubeconfig by default)",
		DisableFlagParsing: true,
	})
	root.AddCommand(newAgentCommand())
	root.AddCommand(newTokenCommand())
	root.AddCommand(newEnvCommand())
	root.AddCommand(newResolvConfCommand())
	root.AddCommand(newVersionCommand())
	return root
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("parse --log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
