// Package e2e runs the real svcnet binary and drives it the way users do: with the
// built-in kubectl, with Debian's stock kubectl when installed, and with client-go.
// Every test starts its own server on a free loopback port with a temporary data dir
// and stops it (the whole process group) in t.Cleanup.
//
// It deliberately tests behaviour through public interfaces only; unit tests of the
// packages live beside them.
package e2e
