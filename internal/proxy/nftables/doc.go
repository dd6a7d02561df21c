// Package nftables is svcnet's kernel data plane: it turns a [proxy.Snapshot]
// into one nftables table (named svcnet by default) laid out as kube-proxy's
// nftables mode lays out its own, and programs it over netlink. A table serves
// one IP family (Config.Family): family ip for IPv4, ip6 for IPv6, as
// kube-proxy has "ip kube-proxy" and "ip6 kube-proxy"; a dual-stack node runs a
// Proxier per family.
//
// The table:
//
//   - base chains nat-prerouting and nat-output jump to "services", which
//     dispatches ClusterIPs, external IPs and load balancer IPs (daddr . proto
//     . port), then node ports (proto . port, on local addresses or
//     --nodeport-addresses, through the "nodeports" chain). Where kube-proxy
//     has one verdict map, svcnet has a plain set per verdict in use
//     (service-ips__clusterip-3 ...) and a rule that tests it: the kernel
//     validates every element of every verdict map at each commit that adds an
//     element with a goto, so a Service change would cost in proportion to all
//     Services;
//   - those rules go to shared chains, one per endpoint count N in use
//     (clusterip-N, external-N, nodeport-N, ...), which mark for masquerade as
//     the traffic needs and pick an endpoint with equal chance: `dnat ip to ip
//     daddr . meta l4proto . th dport . numgen random mod N map
//     @service-endpoints`, where the endpoint map holds the port's endpoints
//     under the indexes 0..N-1. A Service's endpoints are map elements only, so
//     the number of chains does not grow with the number of Services (the
//     kernel's commit walks every chain of the table: a chain per service port
//     made every sync cost in proportion to the Services);
//   - externalTrafficPolicy Local goes through two fixed chains that send pods
//     and the node itself to the cluster's endpoints and other clients to this
//     node's (through the *-picks dispatch sets and the local endpoint maps);
//   - Services with ClientIP affinity keep kube-proxy's layout, through the
//     verdict maps affinity-service-ips and affinity-service-nodeports: one svc-
//     (and ext-) chain per service port and one ep- chain per endpoint that records
//     the client in a set with the affinity timeout;
//   - load balancer IPs with source ranges go first, from the nat chains
//     (which see only the first packet of a connection), through the verdict
//     map firewall-ips to a firewall- chain per port that returns for the
//     allowed sources and drops the rest;
//   - the same dispatch chains send the first packet of a connection to a port
//     with no usable endpoint to reject-chain (TCP reset, ICMP port unreachable
//     otherwise) through the no-endpoint sets, so clients fail at once instead
//     of timing out; there are no filter chains (kube-proxy rejects in filter
//     chains after DNAT, where a packet can see the ruleset before and after a
//     change in its two hooks and leave untranslated);
//   - the retry base chains nat-prerouting-retry and nat-output-retry, one
//     priority after, send a first packet that the dispatch left untranslated
//     through it again when its key is a Service's (sets known-service-ips and
//     known-nodeports): the kernel reads the generation at each set lookup, so
//     a packet evaluated during a commit can miss every set, and the retry, a
//     new evaluation, sees one version;
//   - nat-postrouting masquerades packets that carry the masquerade mark bit,
//     and hairpin packets (a pod reaching itself through a Service), found by one
//     rule over a set of endpoint address pairs.
//
// [Build] is a pure function from snapshot to [Ruleset] (a group of chains,
// sets and map elements per service port, plus a fixed group); [Ruleset.String]
// prints it in nft syntax (golden files), [Trace] follows a packet through it,
// [Builder] does the same while handing back the same group for unchanged
// ports, and [Proxier] applies it: every sync is one atomic netlink
// transaction, either incremental (only the groups that are not the ones of
// the last sync are compared, and only what differs in them is sent) or full
// (reconciled against what the kernel holds, which repairs tampering and
// removes chains svcnet no longer needs). No external binary is run.
//
// Rules and statements name no family: the table's decides how they read
// (ip6 daddr, ipv6_addr) and are encoded, as in nft. An IPv6 address takes 16
// bytes, four 4-byte registers, so the registers of the fields after it in a
// concatenated key, of the numgen draw and of the looked-up port shift; the
// encoder numbers them as `nft --debug=netlink` does (see regAt). Reject sends
// ICMPv6 port unreachable in an ip6 table.
//
// It deliberately leaves conntrack entries alone (the agent flushes stale UDP
// entries), and knows nothing of the API: the agent builds snapshots and
// decides when to sync.
package nftables
