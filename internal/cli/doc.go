// Package cli implements the svcnet subcommands: it turns flags into typed
// configurations and wires the components together explicitly (no globals, no init
// registration). Each subcommand's run function blocks until its context ends.
//
// It deliberately holds no behaviour of its own beyond wiring and bootstrap steps
// that must happen in one place (data dir, certificates, default objects).
package cli
