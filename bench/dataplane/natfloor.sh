#!/usr/bin/env bash
# bench/dataplane/natfloor.sh: is the ClusterIP gap of traffic.sh svcnet's
# ruleset, or the kernel's cost of DNAT through a bridge?
#
# It builds the topology of traffic.sh (a node namespace with bridge cbr0,
# bridge-nf-call-iptables=1, a default route into a veth pair; a backend pod
# running nginx as traffic.sh configures it and iperf3 -s; one client pod per
# path), but runs no svcnet server or agent. Instead, before each measurement it
# replaces the node's whole nftables ruleset with the one the path needs:
#
#   direct-bare      client -> backend pod, no ruleset in the node (so no
#                    conntrack in the node either): the bridge alone
#   direct           client -> backend pod, the svcnet table loaded (what
#                    traffic.sh's direct path sees)
#   direct-min       client -> backend pod, the minimal NAT table loaded
#   minimal-nat      client -> VIP, a hand-written minimal table: one nat
#                    prerouting chain with `ip daddr VIP tcp dport 80 dnat to
#                    BE:8080` and the same for 5201; replies are un-DNATed by
#                    conntrack (br_netfilter). The floor for any DNAT proxy.
#   svcnet           client -> VIP, the table svcnet's agent programs for this
#                    Service (natfloor-svcnet.nft, dumped from a real agent)
#   svcnet-nofilter  the same without its filter-input/-forward/-output chains
#   svcnet-nomasq    the same without its nat-postrouting (masquerading) chain
#
# Each round runs, with the order of the paths rotated from round to round,
# iperf3 -P 1 and -P 4, wrk -t2 -c32 keep-alive and wrk with Connection: close,
# DURATION seconds each, flushing the node's conntrack table before each. It
# prints a markdown report (medians, ratios to direct and minimal-nat, every
# round) and writes it to $OUT when set.
#
# Traffic goes only to addresses inside the namespaces it creates. Everything it
# starts or creates is removed at exit, also on error or interrupt. Needs root,
# iperf3, wrk, nginx-light, conntrack, jq, nftables. Not a test: CI does not run it.
#
# Environment:
#   DURATION  seconds per measurement (default 10)
#   REPS      rounds; each figure is the median of the rounds (default 5)
#   PATHS     space-separated subset of the paths above (default: all, in that order)
#   OUT       markdown file to write (default: none, print only)
set -euo pipefail

DURATION=${DURATION:-10}
REPS=${REPS:-5}
OUT=${OUT:-}
HERE=$(cd "$(dirname "$0")" && pwd)
SVCNET_NFT=$HERE/natfloor-svcnet.nft
PY=/usr/bin/python3
PATHS_ENV=${PATHS:+PATHS=\"$PATHS\" }
read -r -a PATHS <<<"${PATHS:-direct-bare direct direct-min minimal-nat svcnet svcnet-nofilter svcnet-nomasq}"

[ "$(id -u)" = 0 ] || { echo "natfloor.sh: needs root" >&2; exit 2; }
for b in ip iperf3 wrk nginx conntrack jq nft; do
	command -v "$b" >/dev/null || { echo "natfloor.sh: $b missing" >&2; exit 2; }
done
[ -f "$SVCNET_NFT" ] || { echo "natfloor.sh: $SVCNET_NFT missing" >&2; exit 2; }

TMP=$(mktemp -d /tmp/natfloor.XXXXXX)
TAG=nf$(($$ % 100000))
NODE=$TAG-node BE=$TAG-be
NODE_IP=10.244.1.1 BE_IP=10.244.1.10 VIP=10.96.0.100
# The VIP must be the one in natfloor-svcnet.nft, the backend the one it DNATs to.
grep -q "$VIP . tcp . 80 . 0x00000000 : $BE_IP . 8080" "$SVCNET_NFT" ||
	{ echo "natfloor.sh: $SVCNET_NFT does not map $VIP:80 to $BE_IP:8080" >&2; exit 2; }

declare -A RULES=([direct-bare]=none [direct]=svcnet [direct-min]=minimal [minimal-nat]=minimal
	[svcnet]=svcnet [svcnet-nofilter]=svcnet-nofilter [svcnet-nomasq]=svcnet-nomasq)
declare -A CLIENT CLIENT_IP HTTP IPERF_HOST
i=21
for p in "${PATHS[@]}"; do
	[ -n "${RULES[$p]:-}" ] || { echo "natfloor.sh: unknown path $p" >&2; exit 2; }
	# One client per path, as in traffic.sh: a client never reaches the backend
	# both directly and through the VIP (TCP timestamps vs TIME_WAIT).
	CLIENT[$p]=$TAG-c$i CLIENT_IP[$p]=10.244.1.$i
	case $p in
	direct*) HTTP[$p]=$BE_IP:8080 IPERF_HOST[$p]=$BE_IP ;;
	*) HTTP[$p]=$VIP:80 IPERF_HOST[$p]=$VIP ;;
	esac
	i=$((i + 1))
done
PIDS=()
NAMESPACES=()
CT_MAX_OLD=

log() { echo "$(date +%H:%M:%S) $*" >&2; }

cleanup() {
	set +e
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		for _ in $(seq 50); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
		kill -9 "${PIDS[i]}" 2>/dev/null
	done
	# The node's tables go with its namespace; flush anyway in case it lingers.
	ip netns list | grep -qw "$NODE" && ip netns exec "$NODE" nft flush ruleset
	for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null; done
	[ -n "$CT_MAX_OLD" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX_OLD"
	[ -n "${KEEP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # start NAME CMD...: run CMD in the background, log to $TMP/NAME.log
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
}

wait_for() { # wait_for WHAT SECONDS CMD...
	local what=$1 secs=$2
	shift 2
	for _ in $(seq $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "natfloor.sh: timed out waiting for $what" >&2
	return 1
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

CT_MAX=$(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null || echo 0)
if [ "$CT_MAX" -lt 1048576 ] && sysctl -qw net.netfilter.nf_conntrack_max=1048576 2>/dev/null; then
	CT_MAX_OLD=$CT_MAX
fi

# --- namespaces: node with bridge cbr0, pods on it (as traffic.sh).
mkns() { ip netns add "$1" && NAMESPACES+=("$1") && ip -n "$1" link set lo up; }
mkns "$NODE"
in_node() { ip netns exec "$NODE" "$@"; }
in_node sysctl -qw net.ipv4.ip_forward=1
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1
in_node sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
in_node sysctl -qw net.ipv4.tcp_tw_reuse=1
ip -n "$NODE" link add cbr0 type bridge
ip -n "$NODE" addr add "$NODE_IP/24" dev cbr0
ip -n "$NODE" link set cbr0 up
ip -n "$NODE" link add ext0 type veth peer name ext1
ip -n "$NODE" addr add 10.250.0.1/24 dev ext0
ip -n "$NODE" link set ext0 up
ip -n "$NODE" link set ext1 up
ip -n "$NODE" route add default via 10.250.0.254

addpod() { # addpod NS IP DEV
	mkns "$1"
	ip -n "$NODE" link add "$3" type veth peer name eth0 netns "$1"
	ip -n "$NODE" link set "$3" master cbr0
	ip -n "$NODE" link set "$3" up
	ip -n "$1" addr add "$2/24" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "$NODE_IP"
}
addpod "$BE" "$BE_IP" vbe
i=0
for p in "${PATHS[@]}"; do
	addpod "${CLIENT[$p]}" "${CLIENT_IP[$p]}" "vc$i"
	ip netns exec "${CLIENT[$p]}" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	ip netns exec "${CLIENT[$p]}" sysctl -qw net.ipv4.tcp_tw_reuse=1
	i=$((i + 1))
done

# --- rulesets.
cat >"$TMP/minimal.nft" <<EOF
table ip natfloor {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP tcp dport 80 dnat to $BE_IP:8080
		ip daddr $VIP tcp dport 5201 dnat to $BE_IP:5201
	}
}
EOF
cp "$SVCNET_NFT" "$TMP/svcnet.nft"
{ cat "$SVCNET_NFT"; printf 'delete chain ip svcnet %s\n' filter-input filter-forward filter-output; } >"$TMP/svcnet-nofilter.nft"
{ cat "$SVCNET_NFT"; echo 'delete chain ip svcnet nat-postrouting'; } >"$TMP/svcnet-nomasq.nft"
: >"$TMP/none.nft"
CURRENT_RULES=
use_rules() { # use_rules NAME: make the node's ruleset exactly $TMP/NAME.nft
	[ "$CURRENT_RULES" = "$1" ] && return 0
	in_node nft flush ruleset
	in_node nft -f "$TMP/$1.nft"
	CURRENT_RULES=$1
}
for r in none minimal svcnet svcnet-nofilter svcnet-nomasq; do use_rules "$r"; done # check they all load
in_node nft list ruleset >"$TMP/last-ruleset.nft"

# --- backend: nginx (as traffic.sh) and iperf3.
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 10000000;
	keepalive_timeout 120s;
	client_body_temp_path $TMP/nginx;
	proxy_temp_path $TMP/nginx;
	fastcgi_temp_path $TMP/nginx;
	uwsgi_temp_path $TMP/nginx;
	scgi_temp_path $TMP/nginx;
	server {
		listen $BE_IP:8080 backlog=4096;
		location / { return 200 "ok\n"; }
	}
}
EOF
start nginx ip netns exec "$BE" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
start iperf3-server ip netns exec "$BE" iperf3 -s -B "$BE_IP" -p 5201

flush_ct() { in_node conntrack -F >/dev/null 2>&1 || true; }
for p in "${PATHS[@]}"; do
	use_rules "${RULES[$p]}"
	flush_ct
	wait_for "$p path" 30 ip netns exec "${CLIENT[$p]}" curl -sf -m 1 "http://${HTTP[$p]}/"
done
log "paths ready (${PATHS[*]}); $REPS rounds of ${DURATION}s runs; load $LOAD_START"

# --- measurements. Each line of $TMP/raw: test path round value [p99_us].
RAW=$TMP/raw
: >"$RAW"
prepare() { use_rules "${RULES[$1]}"; flush_ct; }

iperf() { # path streams round
	local p=$1 n=$2 r=$3 bps
	prepare "$p"
	bps=$(ip netns exec "${CLIENT[$p]}" iperf3 -c "${IPERF_HOST[$p]}" -p 5201 -P "$n" -t "$DURATION" -J |
		jq '.end.sum_received.bits_per_second')
	echo "iperf$n $p $r $bps" >>"$RAW"
	log "round $r iperf3 -P $n $p: $(awk -v b="$bps" 'BEGIN{printf "%.2f Gbit/s", b/1e9}')"
}

wrk_run() { # path mode round; mode keepalive or close
	local p=$1 mode=$2 r=$3 out rps p99 hdr=()
	[ "$mode" = close ] && hdr=(-H "Connection: close")
	prepare "$p"
	out=$(ip netns exec "${CLIENT[$p]}" wrk -t2 -c32 -d"${DURATION}s" --latency "${hdr[@]}" "http://${HTTP[$p]}/")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); print v} else if (v ~ /ms$/) {sub(/ms$/, "", v); print v*1000} else if (v ~ /s$/) {sub(/s$/, "", v); print v*1000000}}' <<<"$out")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "wrk-$mode $p round $r: $(grep "Non-2xx\|Socket errors" <<<"$out" | tr -s ' ' | tr '\n' ' ')" >>"$TMP/errors"
	fi
	echo "wrk-$mode $p $r $rps $p99" >>"$RAW"
	log "round $r wrk $mode $p: $rps req/s, p99 ${p99} us"
}

N=${#PATHS[@]}
: >"$TMP/loads"
for r in $(seq "$REPS"); do
	echo "$r $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/loads"
	order=("${PATHS[@]:$(((r - 1) % N))}" "${PATHS[@]:0:$(((r - 1) % N))}")
	for p in "${order[@]}"; do iperf "$p" 1 "$r"; done
	for p in "${order[@]}"; do iperf "$p" 4 "$r"; done
	for p in "${order[@]}"; do wrk_run "$p" keepalive "$r"; done
	for p in "${order[@]}"; do wrk_run "$p" close "$r"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report.
REPORT=$TMP/report.md
{
	echo "# bench/dataplane/natfloor: svcnet's ruleset against a minimal DNAT"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs; kernel $(uname -r); $(nft --version)"
	echo "- tools: $(iperf3 --version | head -1 | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), nginx $(nginx -v 2>&1 | cut -d/ -f2)"
	echo "- svcnet ruleset: bench/dataplane/natfloor-svcnet.nft (dumped from a real agent, see its header)"
	echo "- command: \`${PATHS_ENV}DURATION=$DURATION REPS=$REPS bench/dataplane/natfloor.sh\`; each figure is the median of $REPS rounds of ${DURATION} s, the paths interleaved in each round, the order rotated from round to round"
	echo "- load average (1/5/15 min): $LOAD_START at the start, $LOAD_END at the end; at each round's start: $(awk '{printf "%s%s: %s", (NR>1?"; ":""), $1, $2}' "$TMP/loads")"
	echo
	$PY - "$RAW" "$TMP/errors" "${PATHS[@]}" <<'EOF'
import statistics, sys, os
raw, errs, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = {}
for line in open(raw):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append([float(x) for x in f[3:]])
def vals(test, path, i):
    return [x[i] for x in rows.get((test, path), []) if len(x) > i]
def med(test, path, i):
    v = vals(test, path, i)
    return statistics.median(v) if v else float("nan")
tests = [("iperf1", "iperf3, 1 stream", "Gbit/s", 1e-9, True),
         ("iperf4", "iperf3, 4 streams", "Gbit/s", 1e-9, True),
         ("wrk-keepalive", "wrk keep-alive (t2 c32), req/s", "", 1, True),
         ("wrk-keepalive", "wrk keep-alive, p99 latency", "us", 1, False),
         ("wrk-close", "wrk new connection per request (t2 c32), req/s", "", 1, True),
         ("wrk-close", "wrk new connection, p99 latency", "us", 1, False)]
def idx(test, higher):
    return 0 if higher or test.startswith("iperf") else 1
def fmt(v, unit):
    if v != v:
        return "-"
    if unit == "Gbit/s":
        return "%.2f Gbit/s" % v
    if unit == "us":
        return "%.0f us" % v if v < 10000 else "%.1f ms" % (v / 1000)
    return "{:,.0f}".format(v)
def ratio(a, b, higher):
    r = a / b if higher else b / a
    return "%.2fx" % r if r == r else "-"
print("## Medians\n")
print("Ratios: for req/s and throughput path / reference, for p99 latency reference / path, so higher is better on every row.\n")
print("| figure | " + " | ".join(paths) + " |")
print("|---|" + "---|" * len(paths))
for test, label, unit, scale, higher in tests:
    i = idx(test, higher)
    print("| %s | %s |" % (label, " | ".join(fmt(med(test, p, i) * scale, unit) for p in paths)))
refs = [r for r in ("direct", "minimal-nat") if r in paths]
for ref in refs:
    print("\n## Ratio to %s (medians)\n" % ref)
    others = [p for p in paths if p != ref]
    print("| figure | " + " | ".join(others) + " |")
    print("|---|" + "---|" * len(others))
    for test, label, unit, scale, higher in tests:
        i = idx(test, higher)
        print("| %s | %s |" % (label, " | ".join(ratio(med(test, p, i), med(test, ref, i), higher) for p in others)))
if "direct" in paths:
    vips = [p for p in paths if not p.startswith("direct")]
    print("\n## Ratio to direct, round by round\n")
    print("Each round's VIP figure divided by the same round's direct figure (both measured within a minute of each other); median of the per-round ratios in the last column.\n")
    n = max(len(v) for v in rows.values())
    print("| figure | path | " + " | ".join("round %d" % (r + 1) for r in range(n)) + " | median |")
    print("|---|---|" + "---|" * (n + 1))
    for test, label, unit, scale, higher in tests:
        i = idx(test, higher)
        d = vals(test, "direct", i)
        for p in vips + (["minimal-nat/svcnet"] if "minimal-nat" in paths and "svcnet" in paths else []):
            if p == "minimal-nat/svcnet":
                a, b, name = vals(test, "svcnet", i), vals(test, "minimal-nat", i), "svcnet / minimal-nat"
            else:
                a, b, name = vals(test, p, i), d, p
            rs = [(x / y if higher else y / x) for x, y in zip(a, b)]
            print("| %s | %s | %s | %s |" % (label, name, " | ".join("%.2f" % x for x in rs),
                  "%.2f" % statistics.median(rs) if rs else "-"))
print("\n## Every round\n")
n = max(len(v) for v in rows.values())
print("| figure | path | " + " | ".join("round %d" % (r + 1) for r in range(n)) + " |")
print("|---|---|" + "---|" * n)
for test, label, unit, scale, higher in tests:
    i = idx(test, higher)
    for p in paths:
        print("| %s | %s | %s |" % (label, p, " | ".join(fmt(x * scale, unit) for x in vals(test, p, i))))
if os.path.exists(errs):
    print("\nwrk reported errors:\n\n```")
    print(open(errs).read().strip())
    print("```")
EOF
} >"$REPORT"
cat "$REPORT"
if [ -n "$OUT" ]; then cp "$REPORT" "$OUT"; log "wrote $OUT"; fi
