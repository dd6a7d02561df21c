package nftables

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/proxy"
)

// Config says what the generated ruleset depends on besides the Services.
type Config struct {
	// Table is the name of svcnet's table; default "svcnet".
	Table string
	// Family is the address family of the table and of the snapshots it
	// serves: proxy.IPv4 (table ip, the default) or proxy.IPv6 (table ip6).
	// Addresses of the other family in the fields below are ignored.
	Family proxy.Family
	// NodeName selects the local endpoints of Local traffic policies.
	NodeName string
	// ClusterCIDRs are the pod networks: traffic to a ClusterIP from outside them
	// is masqueraded, and pod traffic to an external address of an
	// externalTrafficPolicy Local Service keeps cluster semantics.
	ClusterCIDRs []netip.Prefix
	// NodePortAddresses are the local addresses that accept node ports; empty
	// means every local address except loopback (127.0.0.0/8, ::1).
	NodePortAddresses []netip.Addr
	// MasqueradeBit is the packet mark bit asking for masquerade; default 0x4000.
	MasqueradeBit uint32
	// NodeIPs are the node's addresses: when a load balancer's source ranges
	// hold one, the node may reach the load balancer IPs (as kube-proxy allows,
	// for load balancers whose IP is routed back to the node).
	NodeIPs []netip.Addr
}

func (c Config) withDefaults() Config {
	if c.Table == "" {
		c.Table = "svcnet"
	}
	if c.MasqueradeBit == 0 {
		c.MasqueradeBit = 0x4000
	}
	if c.Family != proxy.IPv6 {
		c.Family = proxy.IPv4
	}
	// An address of the other family cannot be encoded in this table.
	of := func(a netip.Addr) bool { return a.Is4() != (c.Family == proxy.IPv4) }
	if slices.ContainsFunc(c.ClusterCIDRs, func(p netip.Prefix) bool { return of(p.Addr()) }) {
		c.ClusterCIDRs = slices.DeleteFunc(slices.Clone(c.ClusterCIDRs), func(p netip.Prefix) bool { return of(p.Addr()) })
	}
	if slices.ContainsFunc(c.NodePortAddresses, of) {
		c.NodePortAddresses = slices.DeleteFunc(slices.Clone(c.NodePortAddresses), of)
	}
	if slices.ContainsFunc(c.NodeIPs, of) {
		c.NodeIPs = slices.DeleteFunc(slices.Clone(c.NodeIPs), of)
	}
	return c
}

// loopback is the loopback network of family f, where node ports are not served.
func loopback(f proxy.Family) netip.Prefix {
	if f == proxy.IPv6 {
		return netip.PrefixFrom(netip.IPv6Loopback(), 128)
	}
	return netip.MustParsePrefix("127.0.0.0/8")
}

// Names of the fixed chains, maps and sets.
const (
	chainServices      = "services"
	chainMasquerading  = "masquerading"
	chainReject        = "reject-chain"
	chainExternalLocal = "external-local-policy"
	chainNodePortLocal = "nodeport-local-policy"
	chainNodePorts     = "nodeports"
	// chainFirewall sends new connections to a load balancer IP with source
	// ranges to that port's firewall- chain, through mapFirewallIPs.
	chainFirewall  = "firewall-check"
	mapFirewallIPs = "firewall-ips"
	// The cluster half of the Local policy chains.
	chainExternalLocalCluster = "external-local-cluster"
	chainNodePortLocalCluster = "nodeport-local-cluster"
	// Affinity Services dispatch to their own chains through these verdict maps.
	mapAffinityIPs         = "affinity-service-ips"
	mapAffinityNodePorts   = "affinity-service-nodeports"
	mapServiceIPs          = "service-ips"
	mapServiceNodePorts    = "service-nodeports"
	mapNoEndpointServices  = "no-endpoint-services"
	mapNoEndpointNodePorts = "no-endpoint-nodeports"
	// The externalTrafficPolicy Local chains pick through these: cluster
	// semantics for pods and the node, local endpoints for other clients.
	mapExternalClusterPicks = "external-cluster-picks"
	mapExternalLocalPicks   = "external-local-picks"
	mapNodePortClusterPicks = "nodeport-cluster-picks"
	mapNodePortLocalPicks   = "nodeport-local-picks"
	// Endpoint maps: key . index -> endpoint.
	mapServiceEndpoints       = "service-endpoints"
	mapLocalEndpoints         = "local-endpoints"
	mapNodePortEndpoints      = "nodeport-endpoints"
	mapNodePortLocalEndpoints = "nodeport-local-endpoints"
	setNodePortIPs            = "nodeport-ips"
	setHairpin                = "hairpin-endpoints"
	// Every key the dispatch chains know, whatever its verdict: what a
	// connection that left them untranslated is retried for (see fixed).
	setKnownServiceIPs = "known-service-ips"
	setKnownNodePorts  = "known-nodeports"
	// The retry base chains, one priority after nat-prerouting and nat-output.
	chainPreroutingRetry = "nat-prerouting-retry"
	chainOutputRetry     = "nat-output-retry"
)

// Priorities of the base chains, as nft's named priorities: dstnat is -100,
// srcnat 100.
const (
	prioDstNAT = -100
	prioSrcNAT = 100
)

var (
	keyAddrProtoPort = []KeyField{KeyDaddr, KeyL4Proto, KeyDport}
	keyProtoPort     = []KeyField{KeyL4Proto, KeyDport}
)

// A picker is a family of shared chains, one per endpoint count N in use,
// that pick one of N endpoints from an endpoint map with equal chance. Which
// endpoints a service port has is only map elements; the table's chains depend
// on the endpoint counts in use, not on the number of Services, so the kernel's
// commit (which walks every chain of the table) stays cheap.
type picker struct {
	family pickerFamily
	n      int
}

type pickerFamily int

const (
	// ClusterIP traffic (and cluster semantics of externalTrafficPolicy
	// Local): masquerade sources outside the cluster CIDRs.
	pickClusterIP pickerFamily = iota
	// External addresses under the Cluster policy: always masquerade.
	pickExternal
	// External addresses under the Local policy, clients outside: no
	// masquerade, local endpoints.
	pickExternalLocal
	// Node ports under the Cluster policy: always masquerade.
	pickNodePort
	// Node ports under the Local policy, from pods or the node itself.
	pickNodePortCluster
	// Node ports under the Local policy, clients outside.
	pickNodePortLocal
)

// pickerFamilies gives each family's chain name prefix and endpoint map.
var pickerFamilies = map[pickerFamily]struct{ prefix, m string }{
	pickClusterIP:       {"clusterip-", mapServiceEndpoints},
	pickExternal:        {"external-", mapServiceEndpoints},
	pickExternalLocal:   {"external-local-", mapLocalEndpoints},
	pickNodePort:        {"nodeport-", mapNodePortEndpoints},
	pickNodePortCluster: {"nodeport-cluster-", mapNodePortEndpoints},
	pickNodePortLocal:   {"nodeport-local-", mapNodePortLocalEndpoints},
}

func (pk picker) chain() string { return pickerFamilies[pk.family].prefix + strconv.Itoa(pk.n) }

// A dispatch is the keys of one logical map (service-ips, no-endpoint-services,
// ...) that go to one verdict, kept as a plain set and tested by a rule of a
// fixed chain: `ip daddr . meta l4proto . th dport @service-ips__clusterip-3
// goto clusterip-3`. kube-proxy keeps each such map as one verdict map, but the
// kernel validates every element of every verdict map at each commit that adds
// an element with a goto (a one-endpoint change at 10,000 Services took 16 ms
// instead of 1.2 ms): plain sets are not validated. The price is a set lookup
// per verdict in use when a connection starts; verdicts are ordered by endpoint
// count, small ones (the common case) first.
type dispatch struct {
	m       string
	verdict Verdict
	// pk is the picker the verdict goes to, if any.
	pk    picker
	hasPk bool
}

// dispatchKeys gives each logical map's key.
var dispatchKeys = map[string][]KeyField{
	mapServiceIPs:           keyAddrProtoPort,
	mapNoEndpointServices:   keyAddrProtoPort,
	mapExternalClusterPicks: keyAddrProtoPort,
	mapExternalLocalPicks:   keyAddrProtoPort,
	mapServiceNodePorts:     keyProtoPort,
	mapNoEndpointNodePorts:  keyProtoPort,
	mapNodePortClusterPicks: keyProtoPort,
	mapNodePortLocalPicks:   keyProtoPort,
}

// set names the dispatch's set: map__target.
func (d dispatch) set() string {
	target := d.verdict.Chain
	if d.verdict.Kind == Drop {
		target = "drop"
	}
	return d.m + "__" + target
}

// rule tests the dispatch's set and applies its verdict.
func (d dispatch) rule() Rule {
	return Rule{MatchKeySet{Key: dispatchKeys[d.m], Set: d.set()}, Do{d.verdict}}
}

// compareDispatches orders by map, then pickers by family and endpoint count,
// then the reject chain, drop, and other chains by name.
func compareDispatches(x, y dispatch) int {
	rank := func(d dispatch) int {
		switch {
		case d.hasPk:
			return 0
		case d.verdict.Kind == Goto && d.verdict.Chain == chainReject:
			return 1
		case d.verdict.Kind == Drop:
			return 2
		}
		return 3
	}
	return cmp.Or(strings.Compare(x.m, y.m), cmp.Compare(rank(x), rank(y)), cmp.Compare(x.pk.family, y.pk.family),
		cmp.Compare(x.pk.n, y.pk.n), strings.Compare(x.verdict.Chain, y.verdict.Chain))
}

func (f pickerFamily) key() []KeyField {
	if f >= pickNodePort {
		return keyProtoPort
	}
	return keyAddrProtoPort
}

// portID names a service port inside chain names: ns/name/proto/port, with the
// port's name or, for an unnamed port, its number.
func portID(sp *proxy.ServicePort) string {
	port := sp.Name.Port
	if port == "" {
		port = strconv.Itoa(int(sp.Port))
	}
	return sp.Name.Namespace + "/" + sp.Name.Name + "/" + protoName(sp.Protocol) + "/" + port
}

// ServiceChain is the chain that dispatches ClusterIP traffic of sp.
func ServiceChain(sp *proxy.ServicePort) string { return "svc-" + portID(sp) }

// ExternalChain is the chain for node port, external IP and load balancer traffic.
func ExternalChain(sp *proxy.ServicePort) string { return "ext-" + portID(sp) }

// FirewallChain is the chain that lets only sp's source ranges reach its load
// balancer IPs.
func FirewallChain(sp *proxy.ServicePort) string { return "firewall-" + portID(sp) }

// EndpointChain is the chain that DNATs to one endpoint of sp.
func EndpointChain(sp *proxy.ServicePort, ep proxy.Endpoint) string {
	return "ep-" + portID(sp) + "__" + epID(ep)
}

// affinitySet names the set of clients stuck to ep. The timeout is part of the
// name, so a changed timeout is a new set (a set's timeout cannot be changed).
func affinitySet(sp *proxy.ServicePort, ep proxy.Endpoint) string {
	return fmt.Sprintf("aff-%s__%s/%d", portID(sp), epID(ep), int(sp.AffinityTimeout.Seconds()))
}

// epID names an endpoint inside chain and set names: address/port, an IPv6
// address with dots for its colons (nft's parser takes no colon in a name):
// fd00.10.244..2/80.
func epID(ep proxy.Endpoint) string {
	addr := ep.Addr.String()
	if ep.Addr.Is6() {
		addr = strings.ReplaceAll(addr, ":", ".")
	}
	return fmt.Sprintf("%s/%d", addr, ep.Port)
}

// Build turns a snapshot of cfg.Family into the ruleset that serves it on cfg's node.
func Build(snap *proxy.Snapshot, cfg Config) *Ruleset {
	return NewBuilder().Build(snap, cfg)
}

// Builder builds rulesets like [Build] and remembers what each service port
// produced: a later Build hands back the same *Group for a port that did not
// change, so a sync skips it by pointer and the work of a sync in user space
// stays close to proportional to what changed. A port handed to Build must not
// be changed afterwards (hand a new one instead), as a proxy.Builder does. One
// goroutine at a time.
type Builder struct {
	cfgKey string
	cache  map[proxy.PortName]*portOutput
	gen    uint64
	// prev are the ports of the last Build, in the snapshot's order.
	prev []*portOutput
}

// portOutput is what one service port added to a ruleset.
type portOutput struct {
	// ptr is the port it was built from: the same pointer again is the same
	// port (a proxy.Builder keeps the ports of unchanged Services). Ports are
	// not changed once built, so ptr is also what a new pointer is compared
	// with.
	ptr   *proxy.ServicePort
	group *Group
	// gen is the Builder's generation that last saw the port.
	gen uint64
}

// NewBuilder returns a Builder with an empty memory.
func NewBuilder() *Builder { return &Builder{} }

// Build turns a snapshot of cfg.Family into the ruleset that serves it on cfg's node.
// The Builder keeps the snapshot's ports to compare later ones with, so they must
// not be changed afterwards (a proxy.Builder never changes a port it handed out).
func (bd *Builder) Build(snap *proxy.Snapshot, cfg Config) *Ruleset {
	cfg = cfg.withDefaults()
	if key := fmt.Sprintf("%+v", cfg); key != bd.cfgKey || bd.cache == nil {
		bd.cfgKey, bd.cache, bd.prev = key, map[proxy.PortName]*portOutput{}, nil
	}
	b := &builder{cfg: cfg}
	rs := &Ruleset{Table: cfg.Table, Family: cfg.Family, Ports: make([]*Group, 0, len(snap.Ports))}
	// The cache is updated in place (a sync should not rebuild a map of every
	// port); ports not seen in this snapshot are found by their generation.
	bd.gen++
	used := map[dispatch]bool{}
	order := make([]*portOutput, 0, len(snap.Ports))
	j := 0 // position in bd.prev, the ports of the last Build in order
	for _, sp := range snap.Ports {
		var out *portOutput
		switch {
		// Unchanged ports come in the same order as last time: most are found
		// by pointer next to the last one, without hashing their names.
		case j < len(bd.prev) && bd.prev[j].ptr == sp:
			out = bd.prev[j]
			j++
		case j+1 < len(bd.prev) && bd.prev[j+1].ptr == sp: // one port went
			out = bd.prev[j+1]
			j += 2
		default:
			var ok bool
			out, ok = bd.cache[sp.Name]
			switch {
			case !ok || (out.ptr != sp && !samePort(out.ptr, sp)):
				out = &portOutput{ptr: sp, group: b.servicePort(sp)}
				bd.cache[sp.Name] = out
			case out.ptr != sp:
				// The same port again under a new pointer: keep the group,
				// let the old port go, and find it by pointer next time.
				out.ptr = sp
			}
			if j < len(bd.prev) && bd.prev[j].ptr.Name == sp.Name { // changed in place
				j++
			}
		}
		out.gen = bd.gen
		order = append(order, out)
		rs.Ports = append(rs.Ports, out.group)
		for _, d := range out.group.uses {
			used[d] = true
		}
	}
	bd.prev = order
	if len(bd.cache) > len(snap.Ports) {
		for name, out := range bd.cache {
			if out.gen != bd.gen {
				delete(bd.cache, name)
			}
		}
	}
	rs.Maps, rs.Fixed = b.fixed(used)
	return rs
}

// samePort reports whether two service ports produce the same rules.
func samePort(a, b *proxy.ServicePort) bool {
	return a.Name == b.Name && a.ClusterIP == b.ClusterIP && a.Port == b.Port && a.Protocol == b.Protocol &&
		a.NodePort == b.NodePort && a.AffinityTimeout == b.AffinityTimeout && a.ExternalLocal == b.ExternalLocal &&
		a.InternalLocal == b.InternalLocal && a.HealthCheckNodePort == b.HealthCheckNodePort &&
		slices.Equal(a.ExternalIPs, b.ExternalIPs) && slices.Equal(a.LoadBalancerIPs, b.LoadBalancerIPs) &&
		slices.Equal(a.SourceRanges, b.SourceRanges) &&
		slices.Equal(a.Endpoints, b.Endpoints)
}

type builder struct {
	cfg Config
	// g is the group of the port being built.
	g *Group
}

// fixed returns the table's maps and its fixed group: base chains, dispatch
// and policy chains, the picker chains in use, and the plain sets.
func (b *builder) fixed(used map[dispatch]bool) ([]*Map, *Group) {
	bit := b.cfg.MasqueradeBit
	jump := func(c string) Rule { return Rule{Do{Verdict{Kind: Jump, Chain: c}}} }
	gotoChain := func(c string) Do { return Do{Verdict{Kind: Goto, Chain: c}} }
	dispatches := make([]dispatch, 0, len(used))
	for d := range used {
		dispatches = append(dispatches, d)
	}
	slices.SortFunc(dispatches, compareDispatches)
	rules := func(m string, prefix Rule) []Rule {
		var out []Rule
		for _, d := range dispatches {
			if d.m == m {
				out = append(out, append(slices.Clone(prefix), d.rule()...))
			}
		}
		return out
	}
	// Ports without endpoints are refused here, in the chain that translates
	// the others, not in a later filter hook as kube-proxy does: a packet
	// between two hooks can meet two versions of the ruleset.
	//
	// Nor does one hook see one version: the kernel reads the generation at
	// each set or map lookup, so the first packet of a connection whose Service
	// changes in the commit that lands while it is evaluated can test the old
	// set of its key (absent: it is in no-endpoint-services in the old
	// version), then the new one of the next rule (absent: it moved to
	// service-ips__clusterip-1), or pick index 9 of a port whose tenth
	// endpoint has just gone, and leave every chain untranslated. Its conntrack
	// entry then has no NAT, and its SYN retransmissions follow that entry to
	// the Service address, which nothing answers: the client hangs until it
	// gives up. The retry base chains, one priority after, catch such a
	// packet: the kernel runs the nat chains of a hook in turn until one
	// translates, and the retry chain, a new evaluation that reads the
	// generation afresh, sends a packet whose key svcnet knows through the
	// dispatch again, which then sees one version (the generation only moves
	// forward). Packets to other destinations pay one set lookup.
	retry := []Rule{
		{MatchKeySet{Key: keyAddrProtoPort, Set: setKnownServiceIPs}, Do{Verdict{Kind: Jump, Chain: chainServices}}},
		slices.Concat(Rule{MatchKeySet{Key: keyProtoPort, Set: setKnownNodePorts}}, b.nodePortMatch(),
			Rule{Do{Verdict{Kind: Jump, Chain: chainNodePorts}}}),
	}
	services := slices.Concat(rules(mapServiceIPs, nil), rules(mapNoEndpointServices, nil), []Rule{
		{MapLookup{keyAddrProtoPort, mapAffinityIPs}},
		append(b.nodePortMatch(), gotoChain(chainNodePorts))})
	nodePorts := slices.Concat(rules(mapServiceNodePorts, nil), rules(mapNoEndpointNodePorts, nil),
		[]Rule{{MapLookup{keyProtoPort, mapAffinityNodePorts}}})
	g := &Group{}
	g.Chains = []*Chain{
		// The firewall runs in the nat chains, which see only the first packet
		// of a connection: established traffic pays nothing for it.
		{Name: "nat-prerouting", Hook: &Hook{"nat", "prerouting", prioDstNAT}, Rules: []Rule{jump(chainFirewall), jump(chainServices)}},
		{Name: "nat-output", Hook: &Hook{"nat", "output", prioDstNAT}, Rules: []Rule{jump(chainFirewall), jump(chainServices)}},
		{Name: chainPreroutingRetry, Hook: &Hook{"nat", "prerouting", prioDstNAT + 1}, Rules: retry},
		{Name: chainOutputRetry, Hook: &Hook{"nat", "output", prioDstNAT + 1}, Rules: retry},
		{Name: chainFirewall, Rules: []Rule{{MapLookup{keyAddrProtoPort, mapFirewallIPs}}}},
		{Name: "nat-postrouting", Hook: &Hook{"nat", "postrouting", prioSrcNAT}, Rules: []Rule{jump(chainMasquerading)}},
		{Name: chainServices, Rules: services},
		{Name: chainNodePorts, Rules: nodePorts},
		{Name: chainMasquerading, Rules: []Rule{
			// A pod reaching itself through a Service: its reply must come back
			// through the node to be un-NATed.
			{MatchHairpin{Set: setHairpin}, Masquerade{}},
			{MatchMarkClear{bit}, Do{Verdict{Kind: Return}}},
			{SetMark{Bit: bit, Xor: true}},
			{Masquerade{}},
		}},
		// TCP gets a reset (no ICMP rate limit applies to it), the rest ICMP
		// port unreachable.
		{Name: chainReject, Rules: []Rule{{MatchProto{"TCP"}, RejectTCPReset{}}, {Do{Verdict{Kind: Reject}}}}},
		b.localPolicy(chainExternalLocal, chainExternalLocalCluster, rules(mapExternalLocalPicks, nil)),
		{Name: chainExternalLocalCluster, Rules: rules(mapExternalClusterPicks, nil)},
		b.localPolicy(chainNodePortLocal, chainNodePortLocalCluster, rules(mapNodePortLocalPicks, nil)),
		{Name: chainNodePortLocalCluster, Rules: rules(mapNodePortClusterPicks, nil)},
	}
	var pickers []picker
	for _, d := range dispatches {
		if d.hasPk && !slices.Contains(pickers, d.pk) {
			pickers = append(pickers, d.pk)
		}
	}
	slices.SortFunc(pickers, func(x, y picker) int { return cmp.Or(cmp.Compare(x.family, y.family), cmp.Compare(x.n, y.n)) })
	for _, pk := range pickers {
		g.Chains = append(g.Chains, b.pickerChain(pk))
	}
	if len(b.cfg.NodePortAddresses) > 0 {
		g.Sets = append(g.Sets, &Set{Name: setNodePortIPs, Elements: slices.Clone(b.cfg.NodePortAddresses)})
	}
	g.Sets = append(g.Sets, &Set{Name: setHairpin, Pairs: true})
	var maps []*Map
	for _, d := range dispatches {
		maps = append(maps, &Map{Name: d.set(), Key: dispatchKeys[d.m], Set: true})
	}
	maps = append(maps,
		&Map{Name: setKnownServiceIPs, Key: keyAddrProtoPort, Set: true},
		&Map{Name: setKnownNodePorts, Key: keyProtoPort, Set: true})
	maps = append(maps,
		&Map{Name: mapAffinityIPs, Key: keyAddrProtoPort},
		&Map{Name: mapAffinityNodePorts, Key: keyProtoPort},
		&Map{Name: mapFirewallIPs, Key: keyAddrProtoPort},
		&Map{Name: mapServiceEndpoints, Key: withIndex(keyAddrProtoPort), Endpoints: true},
		&Map{Name: mapLocalEndpoints, Key: withIndex(keyAddrProtoPort), Endpoints: true},
		&Map{Name: mapNodePortEndpoints, Key: withIndex(keyProtoPort), Endpoints: true},
		&Map{Name: mapNodePortLocalEndpoints, Key: withIndex(keyProtoPort), Endpoints: true},
	)
	return maps, g
}

func withIndex(key []KeyField) []KeyField { return append(slices.Clone(key), KeyIndex) }

// localPolicy is the chain of externalTrafficPolicy Local traffic: pods and the
// node itself keep cluster semantics (through the cluster chain); other clients
// reach only this node's endpoints with their source address preserved
// (through local, whose rules drop when the node has none).
func (b *builder) localPolicy(name, cluster string, local []Rule) *Chain {
	toCluster := Do{Verdict{Kind: Goto, Chain: cluster}}
	var rules []Rule
	for _, cidr := range b.cfg.ClusterCIDRs {
		rules = append(rules, Rule{MatchAddr{Source: true, Prefix: cidr}, toCluster})
	}
	rules = append(rules,
		Rule{MatchFibLocal{Source: true}, b.markForMasquerade()},
		Rule{MatchFibLocal{Source: true}, toCluster})
	return &Chain{Name: name, Rules: append(rules, local...)}
}

// pickerChain is the chain of pk: the masquerade its family asks for, then one
// random pick per protocol.
func (b *builder) pickerChain(pk picker) *Chain {
	var rules []Rule
	switch pk.family {
	case pickClusterIP:
		if len(b.cfg.ClusterCIDRs) > 0 {
			var r Rule
			for _, cidr := range b.cfg.ClusterCIDRs {
				r = append(r, MatchAddr{Source: true, Prefix: cidr, Neg: true})
			}
			rules = append(rules, append(r, b.markForMasquerade()))
		}
	case pickExternal, pickNodePort:
		rules = append(rules, Rule{b.markForMasquerade()})
	}
	fam := pickerFamilies[pk.family]
	for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
		rules = append(rules, Rule{DNATMap{Proto: proto, Key: pk.family.key(), Mod: uint32(pk.n), Map: fam.m}})
	}
	return &Chain{Name: pk.chain(), Rules: rules, Linger: true}
}

// nodePortMatch selects the destinations that accept node ports.
func (b *builder) nodePortMatch() Rule {
	if len(b.cfg.NodePortAddresses) > 0 {
		return Rule{MatchAddrSet{Set: setNodePortIPs}}
	}
	return Rule{MatchFibLocal{}, MatchAddr{Prefix: loopback(b.cfg.Family), Neg: true}}
}

// add puts e in map m, or for a logical map of dispatches, e's key in the set
// of its verdict.
func (b *builder) add(m string, e Element) {
	if _, ok := dispatchKeys[m]; ok {
		b.addDispatch(dispatch{m: m, verdict: e.Verdict}, e)
		return
	}
	b.known(m, e)
	b.g.Elements = append(b.g.Elements, MapElement{m, e})
}

func (b *builder) addDispatch(d dispatch, e Element) {
	if !slices.Contains(b.g.uses, d) {
		b.g.uses = append(b.g.uses, d)
	}
	e.Verdict = Verdict{}
	b.known(d.m, e)
	b.g.Elements = append(b.g.Elements, MapElement{d.set(), e})
}

// known records e's key in the set of known keys when m is a map the
// services or nodeports chain looks it up in first: every key of a port is in
// exactly one of those.
func (b *builder) known(m string, e Element) {
	e.Verdict = Verdict{}
	switch m {
	case mapServiceIPs, mapNoEndpointServices, mapAffinityIPs:
		b.g.Elements = append(b.g.Elements, MapElement{setKnownServiceIPs, e})
	case mapServiceNodePorts, mapNoEndpointNodePorts, mapAffinityNodePorts:
		b.g.Elements = append(b.g.Elements, MapElement{setKnownNodePorts, e})
	}
}

// pick sends key (an element of the verdict map vmap) to the picker of family
// for eps, whose endpoint map gets an element per endpoint: index i -> eps[i].
// With no endpoint, key goes to orElse.
func (b *builder) pick(vmap string, key Element, family pickerFamily, eps []proxy.Endpoint, orElse Verdict) {
	if len(eps) == 0 {
		key.Verdict = orElse
		b.add(vmap, key)
		return
	}
	pk := picker{family, len(eps)}
	b.addDispatch(dispatch{m: vmap, verdict: Verdict{Kind: Goto, Chain: pk.chain()}, pk: pk, hasPk: true}, key)
	m := pickerFamilies[family].m
	for i, ep := range eps {
		e := key
		e.Index, e.To = uint32(i), ep.AddrPort()
		b.add(m, e)
		if ep.NodeName == "" || ep.NodeName == b.cfg.NodeName || unmarked(vmap) {
			b.addHairpin(ep.Addr)
		}
	}
}

// unmarked reports whether traffic dispatched by vmap may come from a pod of
// another node without being marked for masquerade: only cluster semantics of
// externalTrafficPolicy Local, where a pod elsewhere reaching this node's node
// port or external address may be sent back to itself. Anywhere else, a pod
// reaching itself through a Service is translated by its own node, so only
// endpoints on this node (or on no known node) need the hairpin set, which
// then stays small: at 30,000 Services of 10 remote endpoints, it would
// otherwise hold 300,000 addresses for the kernel to insert at each full sync.
func unmarked(vmap string) bool {
	return vmap == mapExternalClusterPicks || vmap == mapNodePortClusterPicks
}

// servicePort builds the group of sp.
func (b *builder) servicePort(sp *proxy.ServicePort) *Group {
	b.g = &Group{Name: portID(sp)}
	defer func() {
		b.g.trim()
		b.g = nil
	}()
	if len(sp.SourceRanges) > 0 && len(sp.LoadBalancerIPs) > 0 {
		b.firewall(sp)
	}
	if sp.AffinityTimeout > 0 {
		b.affinityPort(sp)
		return b.g
	}
	node := b.cfg.NodeName
	clusterEps := sp.ClusterEndpoints(node)
	toReject := Verdict{Kind: Goto, Chain: chainReject}
	drop := Verdict{Kind: Drop}
	clusterKey := Element{Addr: sp.ClusterIP, Proto: sp.Protocol, Port: sp.Port}
	if len(clusterEps) > 0 {
		b.pick(mapServiceIPs, clusterKey, pickClusterIP, clusterEps, toReject)
	} else {
		b.noEndpoints(sp, clusterKey)
	}
	if !sp.HasExternal() {
		return b.g
	}
	// External traffic: node ports, external IPs, load balancer IPs.
	extEps := sp.ExternalEndpoints(node)
	addrs := slices.Concat(sp.ExternalIPs, sp.LoadBalancerIPs)
	nodePortKey := Element{Proto: sp.Protocol, Port: sp.NodePort}
	switch {
	case !sp.ExternalLocal && len(extEps) > 0:
		for _, a := range addrs {
			b.pick(mapServiceIPs, Element{Addr: a, Proto: sp.Protocol, Port: sp.Port}, pickExternal, extEps, toReject)
		}
		if sp.NodePort != 0 {
			b.pick(mapServiceNodePorts, nodePortKey, pickNodePort, extEps, toReject)
		}
	case sp.ExternalLocal && (len(extEps) > 0 || len(clusterEps) > 0):
		for _, a := range addrs {
			key := Element{Addr: a, Proto: sp.Protocol, Port: sp.Port}
			v := key
			v.Verdict = Verdict{Kind: Goto, Chain: chainExternalLocal}
			b.add(mapServiceIPs, v)
			b.pick(mapExternalClusterPicks, key, pickClusterIP, clusterEps, toReject)
			b.pick(mapExternalLocalPicks, key, pickExternalLocal, extEps, drop)
		}
		if sp.NodePort != 0 {
			v := nodePortKey
			v.Verdict = Verdict{Kind: Goto, Chain: chainNodePortLocal}
			b.add(mapServiceNodePorts, v)
			b.pick(mapNodePortClusterPicks, nodePortKey, pickNodePortCluster, clusterEps, toReject)
			b.pick(mapNodePortLocalPicks, nodePortKey, pickNodePortLocal, extEps, drop)
		}
	default:
		for _, a := range addrs {
			b.add(mapNoEndpointServices, Element{Addr: a, Proto: sp.Protocol, Port: sp.Port, Verdict: toReject})
		}
		if sp.NodePort != 0 {
			b.add(mapNoEndpointNodePorts, Element{Proto: sp.Protocol, Port: sp.NodePort, Verdict: toReject})
		}
	}
	return b.g
}

// firewall lets only sp's source ranges open connections to its load balancer
// IPs (loadBalancerSourceRanges); other sources are dropped, as kube-proxy
// drops them. When a range holds a node address, the load balancer IPs are
// allowed as sources too: a load balancer IP routed back to the node is the
// source of the node's own connections to it.
func (b *builder) firewall(sp *proxy.ServicePort) {
	name := FirewallChain(sp)
	var rules []Rule
	allowNode := false
	for _, r := range sp.SourceRanges {
		rules = append(rules, Rule{MatchAddr{Source: true, Prefix: r}, Do{Verdict{Kind: Return}}})
		allowNode = allowNode || slices.ContainsFunc(b.cfg.NodeIPs, r.Contains)
	}
	if allowNode {
		for _, ip := range sp.LoadBalancerIPs {
			rules = append(rules, Rule{MatchAddr{Source: true, Prefix: netip.PrefixFrom(ip, ip.BitLen())}, Do{Verdict{Kind: Return}}})
		}
	}
	rules = append(rules, Rule{Do{Verdict{Kind: Drop}}})
	b.g.Chains = append(b.g.Chains, &Chain{Name: name, Rules: rules})
	for _, ip := range sp.LoadBalancerIPs {
		b.add(mapFirewallIPs, Element{Addr: ip, Proto: sp.Protocol, Port: sp.Port, Verdict: Verdict{Kind: Goto, Chain: name}})
	}
}

// noEndpoints refuses ClusterIP traffic of a port without cluster endpoints:
// rejected at once when it has no endpoint at all, dropped (as kube-proxy
// does) when its internal Local policy rules out endpoints elsewhere.
func (b *builder) noEndpoints(sp *proxy.ServicePort, key Element) {
	key.Verdict = Verdict{Kind: Goto, Chain: chainReject}
	if sp.InternalLocal && hasUsable(sp) {
		key.Verdict = Verdict{Kind: Drop}
	}
	b.add(mapNoEndpointServices, key)
}

// affinityPort builds a port with ClientIP affinity as kube-proxy lays it out:
// its own chains, one per endpoint recording the client in a set with a
// timeout. Only these Services cost chains.
func (b *builder) affinityPort(sp *proxy.ServicePort) {
	node := b.cfg.NodeName
	clusterEps := sp.ClusterEndpoints(node)
	svcChain := ServiceChain(sp)
	gotoChain := func(c string) Verdict { return Verdict{Kind: Goto, Chain: c} }
	toReject := gotoChain(chainReject)

	if len(clusterEps) > 0 {
		rules := []Rule{}
		if len(b.cfg.ClusterCIDRs) > 0 {
			r := Rule{MatchAddr{Prefix: netip.PrefixFrom(sp.ClusterIP, sp.ClusterIP.BitLen())}, MatchProto{sp.Protocol}, MatchDport{sp.Port}}
			for _, cidr := range b.cfg.ClusterCIDRs {
				r = append(r, MatchAddr{Source: true, Prefix: cidr, Neg: true})
			}
			rules = append(rules, append(r, b.markForMasquerade()))
		}
		rules = append(rules, b.dispatch(sp, clusterEps)...)
		b.g.Chains = append(b.g.Chains, &Chain{Name: svcChain, Rules: rules})
		b.add(mapAffinityIPs, Element{Addr: sp.ClusterIP, Proto: sp.Protocol, Port: sp.Port, Verdict: gotoChain(svcChain)})
	} else {
		b.noEndpoints(sp, Element{Addr: sp.ClusterIP, Proto: sp.Protocol, Port: sp.Port})
	}

	if !sp.HasExternal() {
		return
	}
	extEps := sp.ExternalEndpoints(node)
	var extVerdict Verdict
	var noEndpoints bool
	switch {
	case !sp.ExternalLocal && len(extEps) > 0:
		extChain := ExternalChain(sp)
		rules := []Rule{{b.markForMasquerade()}}
		if len(clusterEps) > 0 && slices.Equal(extEps, clusterEps) {
			rules = append(rules, Rule{Do{gotoChain(svcChain)}})
		} else {
			rules = append(rules, b.dispatch(sp, extEps)...)
		}
		b.g.Chains = append(b.g.Chains, &Chain{Name: extChain, Rules: rules})
		extVerdict = gotoChain(extChain)
	case sp.ExternalLocal && (len(extEps) > 0 || len(clusterEps) > 0):
		extChain := ExternalChain(sp)
		cluster := toReject
		if len(clusterEps) > 0 {
			cluster = gotoChain(svcChain)
		}
		var rules []Rule
		for _, cidr := range b.cfg.ClusterCIDRs {
			rules = append(rules, Rule{MatchAddr{Source: true, Prefix: cidr}, Do{cluster}})
		}
		rules = append(rules,
			Rule{MatchFibLocal{Source: true}, b.markForMasquerade()},
			Rule{MatchFibLocal{Source: true}, Do{cluster}})
		if len(extEps) > 0 {
			rules = append(rules, b.dispatch(sp, extEps)...)
		} else {
			rules = append(rules, Rule{Do{Verdict{Kind: Drop}}})
		}
		b.g.Chains = append(b.g.Chains, &Chain{Name: extChain, Rules: rules})
		extVerdict = gotoChain(extChain)
	default:
		noEndpoints = true
	}
	ipMap, portMap := mapAffinityIPs, mapAffinityNodePorts
	verdict := extVerdict
	if noEndpoints {
		ipMap, portMap, verdict = mapNoEndpointServices, mapNoEndpointNodePorts, toReject
	}
	for _, ip := range slices.Concat(sp.ExternalIPs, sp.LoadBalancerIPs) {
		b.add(ipMap, Element{Addr: ip, Proto: sp.Protocol, Port: sp.Port, Verdict: verdict})
	}
	if sp.NodePort != 0 {
		b.add(portMap, Element{Proto: sp.Protocol, Port: sp.NodePort, Verdict: verdict})
	}
}

// markForMasquerade asks nat-postrouting to masquerade the packet. It is a
// statement, not a jump to a chain as in kube-proxy: a rule without a jump or
// goto spares the kernel a validation of the whole table at each commit that
// rewrites the chain.
func (b *builder) markForMasquerade() Stmt { return SetMark{Bit: b.cfg.MasqueradeBit} }

// hasUsable reports whether sp has usable endpoints on any node.
func hasUsable(sp *proxy.ServicePort) bool {
	all := *sp
	all.InternalLocal = false
	return len(all.ClusterEndpoints("")) > 0
}

// dispatch returns the rules of an affinity port that pick one of eps: clients
// recorded in an endpoint's set go straight to its chain; others draw, rule i
// below n-i taking endpoint i on 0 and the last one what is left, equal chances.
func (b *builder) dispatch(sp *proxy.ServicePort, eps []proxy.Endpoint) []Rule {
	var rules []Rule
	for _, ep := range eps {
		rules = append(rules, Rule{MatchAddrSet{Source: true, Set: affinitySet(sp, ep)}, Do{Verdict{Kind: Goto, Chain: EndpointChain(sp, ep)}}})
	}
	for i, ep := range eps {
		b.addHairpin(ep.Addr)
		b.endpointChain(sp, ep)
		r := Rule{Do{Verdict{Kind: Goto, Chain: EndpointChain(sp, ep)}}}
		if n := len(eps) - i; n > 1 {
			r = append(Rule{MatchNumgen{Mod: uint32(n)}}, r...)
		}
		rules = append(rules, r)
	}
	return rules
}

// addHairpin adds an endpoint address to the group's part of the hairpin set.
// trim drops the spare capacity that appending left in g's lists: a group is
// kept for as long as its port is unchanged, which for most is the agent's life.
func (g *Group) trim() {
	if cap(g.Elements) > len(g.Elements) {
		g.Elements = slices.Clone(g.Elements)
	}
	if cap(g.Hairpin) > len(g.Hairpin) {
		g.Hairpin = slices.Clone(g.Hairpin)
	}
}

func (b *builder) addHairpin(a netip.Addr) {
	if !slices.Contains(b.g.Hairpin, a) {
		b.g.Hairpin = append(b.g.Hairpin, a)
	}
}

// endpointChain emits the chain of one endpoint of an affinity Service: record
// the client, then DNAT.
func (b *builder) endpointChain(sp *proxy.ServicePort, ep proxy.Endpoint) {
	name := EndpointChain(sp, ep)
	if slices.ContainsFunc(b.g.Chains, func(c *Chain) bool { return c.Name == name }) {
		return
	}
	set := affinitySet(sp, ep)
	b.g.Sets = append(b.g.Sets, &Set{Name: set, Timeout: sp.AffinityTimeout})
	b.g.Chains = append(b.g.Chains, &Chain{Name: name, Rules: []Rule{
		{AffinityUpdate{Set: set}},
		{DNAT{Proto: sp.Protocol, To: ep.AddrPort()}},
	}})
}

// Validate reports a ruleset that references a chain, map or set it does not
// define, or defines one twice; the kernel would refuse the whole transaction.
func (rs *Ruleset) Validate() error {
	f := rs.flatten()
	chains := map[string]bool{}
	for _, c := range f.chains {
		if chains[c.Name] {
			return fmt.Errorf("validate ruleset: chain %q defined twice", c.Name)
		}
		chains[c.Name] = true
	}
	checkChain := func(v Verdict) error {
		if (v.Kind == Jump || v.Kind == Goto) && !chains[v.Chain] {
			return fmt.Errorf("validate ruleset: reference to undefined chain %q", v.Chain)
		}
		return nil
	}
	checkSet := func(name string) error {
		if f.lookupSet(name) == nil {
			return fmt.Errorf("validate ruleset: reference to undefined set %q", name)
		}
		return nil
	}
	for _, c := range f.chains {
		for _, r := range c.Rules {
			for _, s := range r {
				var err error
				switch s := s.(type) {
				case Do:
					err = checkChain(s.Verdict)
				case MapLookup:
					if m := f.lookupMap(s.Map); m == nil || m.Endpoints || m.Set {
						err = fmt.Errorf("validate ruleset: reference to undefined verdict map %q", s.Map)
					}
				case MatchKeySet:
					if m := f.lookupMap(s.Set); m == nil || !m.Set {
						err = fmt.Errorf("validate ruleset: reference to undefined set %q", s.Set)
					}
				case DNATMap:
					if m := f.lookupMap(s.Map); m == nil || !m.Endpoints {
						err = fmt.Errorf("validate ruleset: reference to undefined endpoint map %q", s.Map)
					}
				case MatchHairpin:
					err = checkSet(s.Set)
				case MatchAddrSet:
					err = checkSet(s.Set)
				case AffinityUpdate:
					err = checkSet(s.Set)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, m := range f.maps {
		if seen[m.Name] {
			return fmt.Errorf("validate ruleset: map %q defined twice", m.Name)
		}
		seen[m.Name] = true
		for i, e := range m.Elements {
			if i > 0 && m.Elements[i-1].id() == e.id() {
				return fmt.Errorf("validate ruleset: map %s: element %s twice", m.Name, e.key(m.Key))
			}
			if !m.Endpoints && !m.Set {
				if err := checkChain(e.Verdict); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
