// Command coredns is CoreDNS built with only the plugins bench/dns configures:
// kubernetes (the plugin being compared with svcnet's DNS), cache (for the
// optional cached row), ready (readiness once the kubernetes plugin synced),
// errors and prometheus (as in kubeadm's stock Corefile), and bind (to listen
// on loopback only). It is a
// benchmark-only module: the main module's builds and tests never see it.
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
