package nftables

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/svcnet/svcnet/internal/proxy"
)

// Config says what the generated ruleset depends on besides the Services.
type Config struct {
	// Table is the name of svcnet's table (family ip); default "svcnet".
	Table string
	// NodeName selects the local endpoints of Local traffic policies.
	NodeName string
	// ClusterCIDRs are the pod networks: traffic to a ClusterIP from outside them
	// is masqueraded, and pod traffic to an external address of an
	// externalTrafficPolicy Local Service keeps cluster semantics.
	ClusterCIDRs []netip.Prefix
	// NodePortAddresses are the local addresses that accept node ports; empty
	// means every local address except 127.0.0.0/8.
	NodePortAddresses []netip.Addr
	// MasqueradeBit is the packet mark bit asking for masquerade; default 0x4000.
	MasqueradeBit uint32
}

func (c Config) withDefaults() Config {
	if c.Table == "" {
		c.Table = "svcnet"
	}
	if c.MasqueradeBit == 0 {
		c.MasqueradeBit = 0x4000
	}
	return c
}

// Names of the fixed chains, maps and sets.
const (
	chainServices          = "services"
	chainMasquerading      = "masquerading"
	chainServiceCheck      = "service-endpoints-check"
	chainNodePortCheck     = "nodeport-endpoints-check"
	chainReject            = "reject-chain"
	mapServiceIPs          = "service-ips"
	mapServiceNodePorts    = "service-nodeports"
	mapNoEndpointServices  = "no-endpoint-services"
	mapNoEndpointNodePorts = "no-endpoint-nodeports"
	setNodePortIPs         = "nodeport-ips"
	setHairpin             = "hairpin-endpoints"
)

// Priorities of the base chains, as nft's named priorities: dstnat is -100,
// srcnat 100, and the endpoint checks run just before DNAT.
const (
	prioDstNAT = -100
	prioSrcNAT = 100
	prioFilter = -110
)

var (
	keyAddrProtoPort = []KeyField{KeyDaddr, KeyL4Proto, KeyDport}
	keyProtoPort     = []KeyField{KeyL4Proto, KeyDport}
)

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

// EndpointChain is the chain that DNATs to one endpoint of sp.
func EndpointChain(sp *proxy.ServicePort, ep proxy.Endpoint) string {
	return "ep-" + portID(sp) + "__" + epID(ep)
}

// affinitySet names the set of clients stuck to ep. The timeout is part of the
// name, so a changed timeout is a new set (a set's timeout cannot be changed).
func affinitySet(sp *proxy.ServicePort, ep proxy.Endpoint) string {
	return fmt.Sprintf("aff-%s__%s/%d", portID(sp), epID(ep), int(sp.AffinityTimeout.Seconds()))
}

// epID names an endpoint inside chain and set names: address/port (nft's parser
// takes no colon in a name).
func epID(ep proxy.Endpoint) string { return fmt.Sprintf("%s/%d", ep.Addr, ep.Port) }

// Build turns an IPv4 snapshot into the ruleset that serves it on cfg's node.
func Build(snap *proxy.Snapshot, cfg Config) *Ruleset {
	return NewBuilder().Build(snap, cfg)
}

// Builder builds rulesets like [Build] and remembers what each service port
// produced: a later Build reuses the chains of ports that did not change (same
// pointers, so their fingerprints are not computed again), which keeps a sync's
// work in user space close to proportional to what changed. A port handed to
// Build must not be changed afterwards (hand a new one instead), as a
// proxy.Builder does. One goroutine at a time.
type Builder struct {
	cfgKey string
	cache  map[proxy.PortName]*portOutput
}

// portOutput is what one service port added to a ruleset.
type portOutput struct {
	// ptr is the port it was built from: the same pointer again is the same
	// port (a proxy.Builder keeps the ports of unchanged Services).
	ptr      *proxy.ServicePort
	sp       proxy.ServicePort
	chains   []*Chain
	sets     []*Set
	elements []mapElement
	hairpin  []netip.Addr
}

type mapElement struct {
	m string
	e Element
}

// NewBuilder returns a Builder with an empty memory.
func NewBuilder() *Builder { return &Builder{} }

// Build turns an IPv4 snapshot into the ruleset that serves it on cfg's node.
func (bd *Builder) Build(snap *proxy.Snapshot, cfg Config) *Ruleset {
	cfg = cfg.withDefaults()
	if key := fmt.Sprintf("%+v", cfg); key != bd.cfgKey || bd.cache == nil {
		bd.cfgKey, bd.cache = key, map[proxy.PortName]*portOutput{}
	}
	b := &builder{cfg: cfg, rs: &Ruleset{Table: cfg.Table}}
	b.fixed()
	next := make(map[proxy.PortName]*portOutput, len(snap.Ports))
	for _, sp := range snap.Ports {
		out, ok := bd.cache[sp.Name]
		if !ok || (out.ptr != sp && !samePort(&out.sp, sp)) {
			out = b.record(sp)
		} else {
			b.replay(out)
		}
		next[sp.Name] = out
	}
	bd.cache = next
	b.finish()
	return b.rs
}

// record builds sp and keeps what it added.
func (b *builder) record(sp *proxy.ServicePort) *portOutput {
	chains, sets, hairpin := len(b.rs.Chains), len(b.rs.Sets), len(b.hairpin.Elements)
	b.recording = &portOutput{ptr: sp, sp: *sp}
	b.recording.sp.Endpoints = slices.Clone(sp.Endpoints)
	b.recording.sp.ExternalIPs = slices.Clone(sp.ExternalIPs)
	b.recording.sp.LoadBalancerIPs = slices.Clone(sp.LoadBalancerIPs)
	b.servicePort(sp)
	out := b.recording
	b.recording = nil
	out.chains = slices.Clone(b.rs.Chains[chains:])
	out.sets = slices.Clone(b.rs.Sets[sets:])
	out.hairpin = slices.Clone(b.hairpin.Elements[hairpin:])
	return out
}

// replay adds what an unchanged port added before.
func (b *builder) replay(out *portOutput) {
	b.rs.Chains = append(b.rs.Chains, out.chains...)
	b.rs.Sets = append(b.rs.Sets, out.sets...)
	for _, me := range out.elements {
		b.maps[me.m].Elements = append(b.maps[me.m].Elements, me.e)
	}
	for _, a := range out.hairpin {
		b.addHairpin(a)
	}
}

// samePort reports whether two service ports produce the same rules.
func samePort(a, b *proxy.ServicePort) bool {
	return a.Name == b.Name && a.ClusterIP == b.ClusterIP && a.Port == b.Port && a.Protocol == b.Protocol &&
		a.NodePort == b.NodePort && a.AffinityTimeout == b.AffinityTimeout && a.ExternalLocal == b.ExternalLocal &&
		a.InternalLocal == b.InternalLocal && a.HealthCheckNodePort == b.HealthCheckNodePort &&
		slices.Equal(a.ExternalIPs, b.ExternalIPs) && slices.Equal(a.LoadBalancerIPs, b.LoadBalancerIPs) &&
		slices.Equal(a.Endpoints, b.Endpoints)
}

type builder struct {
	cfg Config
	rs  *Ruleset
	// recording, when set, collects the map elements of the port being built.
	recording *portOutput
	// endpoint chains already emitted (a chain serves both dispatches of a port).
	epChains map[string]bool
	maps     map[string]*Map
	// hairpin collects every endpoint address.
	hairpin *Set
}

func (b *builder) fixed() {
	bit := b.cfg.MasqueradeBit
	jump := func(c string) Rule { return Rule{Do{Verdict{Kind: Jump, Chain: c}}} }
	newCheck := func(c string) Rule { return Rule{MatchCtNew{}, Do{Verdict{Kind: Jump, Chain: c}}} }
	b.rs.Chains = []*Chain{
		{Name: "nat-prerouting", Hook: &Hook{"nat", "prerouting", prioDstNAT}, Rules: []Rule{jump(chainServices)}},
		{Name: "nat-output", Hook: &Hook{"nat", "output", prioDstNAT}, Rules: []Rule{jump(chainServices)}},
		{Name: "nat-postrouting", Hook: &Hook{"nat", "postrouting", prioSrcNAT}, Rules: []Rule{jump(chainMasquerading)}},
		{Name: "filter-input", Hook: &Hook{"filter", "input", prioFilter}, Rules: []Rule{newCheck(chainServiceCheck), newCheck(chainNodePortCheck)}},
		{Name: "filter-forward", Hook: &Hook{"filter", "forward", prioFilter}, Rules: []Rule{newCheck(chainServiceCheck)}},
		{Name: "filter-output", Hook: &Hook{"filter", "output", prioFilter}, Rules: []Rule{newCheck(chainServiceCheck), newCheck(chainNodePortCheck)}},
		{Name: chainServices, Rules: []Rule{
			{MapLookup{keyAddrProtoPort, mapServiceIPs}},
			append(b.nodePortMatch(), MapLookup{keyProtoPort, mapServiceNodePorts}),
		}},
		{Name: chainMasquerading, Rules: []Rule{
			// A pod reaching itself through a Service: its reply must come back
			// through the node to be un-NATed.
			{MatchHairpin{Set: setHairpin}, Masquerade{}},
			{MatchMarkClear{bit}, Do{Verdict{Kind: Return}}},
			{SetMark{Bit: bit, Xor: true}},
			{Masquerade{}},
		}},
		{Name: chainServiceCheck, Rules: []Rule{{MapLookup{keyAddrProtoPort, mapNoEndpointServices}}}},
		{Name: chainNodePortCheck, Rules: []Rule{append(b.nodePortMatch(), MapLookup{keyProtoPort, mapNoEndpointNodePorts})}},
		// TCP gets a reset (no ICMP rate limit applies to it), the rest ICMP
		// port unreachable.
		{Name: chainReject, Rules: []Rule{{MatchProto{"TCP"}, RejectTCPReset{}}, {Do{Verdict{Kind: Reject}}}}},
	}
	b.maps = map[string]*Map{}
	for _, m := range []*Map{
		{Name: mapServiceIPs, Key: keyAddrProtoPort},
		{Name: mapServiceNodePorts, Key: keyProtoPort},
		{Name: mapNoEndpointServices, Key: keyAddrProtoPort},
		{Name: mapNoEndpointNodePorts, Key: keyProtoPort},
	} {
		b.maps[m.Name] = m
		b.rs.Maps = append(b.rs.Maps, m)
	}
	if len(b.cfg.NodePortAddresses) > 0 {
		b.rs.Sets = append(b.rs.Sets, &Set{Name: setNodePortIPs, Elements: slices.Clone(b.cfg.NodePortAddresses)})
	}
	b.epChains = map[string]bool{}
	b.hairpin = &Set{Name: setHairpin, Pairs: true}
	b.rs.Sets = append(b.rs.Sets, b.hairpin)
}

// nodePortMatch selects the destinations that accept node ports.
func (b *builder) nodePortMatch() Rule {
	if len(b.cfg.NodePortAddresses) > 0 {
		return Rule{MatchAddrSet{Set: setNodePortIPs}}
	}
	return Rule{MatchFibLocal{}, MatchAddr{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Neg: true}}
}

func (b *builder) add(m string, e Element) {
	b.maps[m].Elements = append(b.maps[m].Elements, e)
	if b.recording != nil {
		b.recording.elements = append(b.recording.elements, mapElement{m, e})
	}
}

func (b *builder) servicePort(sp *proxy.ServicePort) {
	node := b.cfg.NodeName
	clusterEps := sp.ClusterEndpoints(node)
	svcChain := ServiceChain(sp)
	gotoChain := func(c string) Verdict { return Verdict{Kind: Goto, Chain: c} }
	toReject := gotoChain(chainReject)

	// ClusterIP traffic.
	if len(clusterEps) > 0 {
		rules := []Rule{}
		if len(b.cfg.ClusterCIDRs) > 0 {
			r := Rule{MatchAddr{Prefix: netip.PrefixFrom(sp.ClusterIP, 32)}, MatchProto{sp.Protocol}, MatchDport{sp.Port}}
			for _, cidr := range b.cfg.ClusterCIDRs {
				r = append(r, MatchAddr{Source: true, Prefix: cidr, Neg: true})
			}
			rules = append(rules, append(r, b.markForMasquerade()))
		}
		rules = append(rules, b.dispatch(sp, clusterEps)...)
		b.rs.Chains = append(b.rs.Chains, &Chain{Name: svcChain, Rules: rules})
		b.add(mapServiceIPs, Element{Addr: sp.ClusterIP, Proto: sp.Protocol, Port: sp.Port, Verdict: gotoChain(svcChain)})
	} else {
		// No endpoint at all: refuse at once. Endpoints elsewhere that the
		// internal Local policy rules out: drop, as kube-proxy does.
		verdict := toReject
		if sp.InternalLocal && hasUsable(sp) {
			verdict = Verdict{Kind: Drop}
		}
		b.add(mapNoEndpointServices, Element{Addr: sp.ClusterIP, Proto: sp.Protocol, Port: sp.Port, Verdict: verdict})
	}

	if !sp.HasExternal() {
		return
	}
	// External traffic: node ports, external IPs, load balancer IPs.
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
		b.rs.Chains = append(b.rs.Chains, &Chain{Name: extChain, Rules: rules})
		extVerdict = gotoChain(extChain)
	case sp.ExternalLocal && (len(extEps) > 0 || len(clusterEps) > 0):
		// Pods and the node itself keep cluster semantics; other clients reach
		// only this node's endpoints with their source address preserved.
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
		b.rs.Chains = append(b.rs.Chains, &Chain{Name: extChain, Rules: rules})
		extVerdict = gotoChain(extChain)
	default:
		noEndpoints = true
	}
	ipMap, portMap := mapServiceIPs, mapServiceNodePorts
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

// dispatch returns the rules that pick one of eps with equal chance: rule i
// draws below n-i and takes endpoint i on 0, the last one takes what is left.
// Without affinity a rule DNATs itself; with ClientIP affinity each endpoint has a
// chain that also records the client, and clients already recorded go straight
// to their endpoint.
func (b *builder) dispatch(sp *proxy.ServicePort, eps []proxy.Endpoint) []Rule {
	var rules []Rule
	if sp.AffinityTimeout > 0 {
		for _, ep := range eps {
			rules = append(rules, Rule{MatchAddrSet{Source: true, Set: affinitySet(sp, ep)}, Do{Verdict{Kind: Goto, Chain: EndpointChain(sp, ep)}}})
		}
	}
	for i, ep := range eps {
		b.addHairpin(ep.Addr)
		var r Rule
		if sp.AffinityTimeout > 0 {
			b.endpointChain(sp, ep)
			r = Rule{Do{Verdict{Kind: Goto, Chain: EndpointChain(sp, ep)}}}
		} else {
			r = Rule{DNAT{Proto: sp.Protocol, To: ep.AddrPort()}}
		}
		if n := len(eps) - i; n > 1 {
			r = append(Rule{MatchNumgen{Mod: uint32(n)}}, r...)
		}
		rules = append(rules, r)
	}
	return rules
}

// addHairpin adds an endpoint address to the hairpin set; finish sorts the set
// and drops repeats (an address may back several ports).
func (b *builder) addHairpin(a netip.Addr) { b.hairpin.Elements = append(b.hairpin.Elements, a) }

// endpointChain emits the chain of one endpoint of an affinity Service: record
// the client, then DNAT.
func (b *builder) endpointChain(sp *proxy.ServicePort, ep proxy.Endpoint) {
	name := EndpointChain(sp, ep)
	if b.epChains[name] {
		return
	}
	b.epChains[name] = true
	set := affinitySet(sp, ep)
	b.rs.Sets = append(b.rs.Sets, &Set{Name: set, Timeout: sp.AffinityTimeout})
	b.rs.Chains = append(b.rs.Chains, &Chain{Name: name, Rules: []Rule{
		{AffinityUpdate{Set: set}},
		{DNAT{Proto: sp.Protocol, To: ep.AddrPort()}},
	}})
}

// finish sorts map and set elements so equal snapshots give equal rulesets.
func (b *builder) finish() {
	slices.SortFunc(b.hairpin.Elements, netip.Addr.Compare)
	b.hairpin.Elements = slices.Compact(b.hairpin.Elements)
	for _, m := range b.rs.Maps {
		slices.SortFunc(m.Elements, compareElements)
	}
}

// Validate reports a ruleset that references a chain, map or set it does not
// define; the kernel would refuse the whole transaction.
func (rs *Ruleset) Validate() error {
	chains := map[string]bool{}
	for _, c := range rs.Chains {
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
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			for _, s := range r {
				var err error
				switch s := s.(type) {
				case Do:
					err = checkChain(s.Verdict)
				case MapLookup:
					if rs.lookupMap(s.Map) == nil {
						err = fmt.Errorf("validate ruleset: reference to undefined map %q", s.Map)
					}
				case MatchHairpin:
					if rs.lookupSet(s.Set) == nil {
						err = fmt.Errorf("validate ruleset: reference to undefined set %q", s.Set)
					}
				case MatchAddrSet:
					if rs.lookupSet(s.Set) == nil {
						err = fmt.Errorf("validate ruleset: reference to undefined set %q", s.Set)
					}
				case AffinityUpdate:
					if rs.lookupSet(s.Set) == nil {
						err = fmt.Errorf("validate ruleset: reference to undefined set %q", s.Set)
					}
				}
				if err != nil {
					return err
				}
			}
		}
	}
	for _, m := range rs.Maps {
		for _, e := range m.Elements {
			if err := checkChain(e.Verdict); err != nil {
				return err
			}
		}
	}
	return nil
}
