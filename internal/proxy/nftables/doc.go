// Package nftables is svcnet's kernel data plane: it turns a [proxy.Snapshot]
// into one nftables table (family ip, named svcnet by default) laid out as
// kube-proxy's nftables mode lays out its own, and programs it over netlink.
//
// The table:
//
//   - base chains nat-prerouting and nat-output jump to "services", which
//     dispatches through two verdict maps: service-ips (daddr . proto . port,
//     for ClusterIPs, external IPs and load balancer IPs) and service-nodeports
//     (proto . port, on local addresses or --nodeport-addresses);
//   - one svc- chain per service port picks an endpoint with equal chance and
//     DNATs to it (rule i: numgen random mod N-i 0 ... dnat); Services with
//     ClientIP affinity go through one ep- chain per endpoint that records the
//     client; one ext- chain per externally reachable port applies
//     externalTrafficPolicy;
//   - filter chains on input, forward and output send the first packet of a
//     connection to a port with no usable endpoint to reject-chain (TCP reset,
//     ICMP port unreachable otherwise) through the no-endpoint maps, so clients
//     fail at once instead of timing out;
//   - nat-postrouting masquerades packets that carry the masquerade mark bit,
//     and hairpin packets (a pod reaching itself through a Service), found by one
//     rule over a set of endpoint address pairs.
//
// [Build] is a pure function from snapshot to [Ruleset]; [Ruleset.String] prints
// it in nft syntax (golden files), [Trace] follows a packet through it, and
// [Builder] does the same while reusing the chains of unchanged ports, and
// [Proxier] applies it: every sync is one atomic netlink transaction, either
// incremental (only chains and map elements that differ from the last sync) or
// full (reconciled against what the kernel holds, which repairs tampering and
// removes chains svcnet no longer needs). No external binary is run.
//
// It deliberately handles IPv4 only for now, leaves conntrack entries alone (the
// agent flushes stale UDP entries), and knows nothing of the API: the agent
// builds snapshots and decides when to sync.
package nftables
