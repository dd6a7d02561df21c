package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/svcnet/svcnet/internal/pki"
)

func newTokenCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Manage node join tokens",
	}
	var dataDir string
	create := &cobra.Command{
		Use:   "create NODE",
		Short: "Issue a join token for NODE (replacing any earlier one) and print it",
		Long: "Issue a bearer token that lets the agent of NODE join the cluster:\n" +
			"  svcnet agent --server https://SERVER:6443 --token TOKEN --certificate-authority ca.crt --node-name NODE\n" +
			"Only its hash is stored (in <data-dir>/pki/tokens); a running server accepts it at once.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := pki.CreateToken(dataDir, args[0])
			if err != nil {
				return fmt.Errorf("create token: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	create.Flags().StringVar(&dataDir, "data-dir", DefaultDataDir, "the server's data directory")
	c.AddCommand(create)
	return c
}
