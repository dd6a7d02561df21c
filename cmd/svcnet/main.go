// Command svcnet is Kubernetes Service networking as one program: API server,
// controllers, node agent, DNS and a built-in kubectl. See internal/cli for the
// subcommands.
package main

import (
	"os"

	"github.com/svcnet/svcnet/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
