#!/usr/bin/env bash
# bench/dataplane/traffic.sh: traffic through a svcnet ClusterIP, side by side
# with the same traffic sent straight to the backend pod and through HAProxy
# (TCP mode) on the node, in one run.
#
# It starts `svcnet up` (API only, on a free loopback port), builds a node and
# four pods as network namespaces (a backend running nginx and iperf3 -s, and one
# client per path so that no client reaches the backend both directly and
# through a translated address), runs a real `svcnet agent` in the node
# namespace, creates the Service and the Pod through the API (the Pod's status
# written through pods/status with its real address), and then measures, with
# the paths interleaved in each round: iperf3 with 1 and 4 streams, wrk
# keep-alive and wrk with a new connection per request (req/s and p99). It
# prints a markdown report and writes it to $OUT when set.
#
# Traffic goes only to addresses inside the namespaces it creates (10.244.1.0/24
# and a ClusterIP programmed in the node namespace) and to loopback. Everything
# it starts or creates is removed at exit, also on error or interrupt. It needs
# root, and the Debian packages iperf3, wrk, nginx-light, haproxy, socat,
# conntrack, curl, jq (`apt-get install` them). It is not a test: CI does not
# run it.
#
# Environment:
#   SVCNET    svcnet binary (default: `make build` of this checkout into a temp dir)
#   DURATION  seconds per measurement (default 10)
#   REPS      rounds; each figure is the median of the rounds (default 3)
#   OUT       markdown file to write (default: none, print only)
#   TOPOLOGY  how pods attach to the node (default bridge):
#             bridge  all pods on the node's bridge cbr0, bridge-nf-call-iptables=1
#                     (as the bridge CNI plugin sets a node up);
#             routed  each pod on its own veth routed by the node, /32 routes
#                     (as the ptp and Calico CNI plugins do, and as the anchor
#                     figures in ../shared/refs/bench-anchors.md were measured)
set -euo pipefail

DURATION=${DURATION:-10}
REPS=${REPS:-3}
OUT=${OUT:-}
TOPOLOGY=${TOPOLOGY:-bridge}
case "$TOPOLOGY" in
bridge | routed) ;;
*) echo "traffic.sh: TOPOLOGY must be bridge or routed, not $TOPOLOGY" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "traffic.sh: needs root" >&2; exit 2; }
for b in ip iperf3 wrk nginx haproxy socat conntrack curl jq nft; do
	command -v "$b" >/dev/null || { echo "traffic.sh: $b missing (apt-get install iperf3 wrk nginx-light haproxy socat conntrack curl jq nftables)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/sdt.XXXXXX)
TAG=dpt$(($$ % 100000))
NODE=$TAG-node BE=$TAG-be
# One client namespace per path: direct, ClusterIP (vip), HAProxy.
declare -A CLIENT=([direct]=$TAG-cd [vip]=$TAG-cv [haproxy]=$TAG-ch)
declare -A CLIENT_IP=([direct]=10.244.1.21 [vip]=10.244.1.22 [haproxy]=10.244.1.23)
NODE_IP=10.244.1.1 BE_IP=10.244.1.10
PATHS=(direct vip haproxy)
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
	if [ -n "${SVCNET:-}" ] && ip netns list | grep -qw "$NODE"; then
		ip netns exec "$NODE" "$SVCNET" agent --cleanup >/dev/null 2>&1
	fi
	for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null; done
	[ -n "$CT_MAX_OLD" ] && sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX_OLD"
	[ -n "${KEEP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: run CMD in the background, logging to $TMP/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
}

# wait_for WHAT SECONDS CMD...: retry CMD until it succeeds, at most SECONDS.
wait_for() {
	local what=$1 secs=$2
	shift 2
	for _ in $(seq $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "traffic.sh: timed out waiting for $what" >&2
	return 1
}

if [ -z "${SVCNET:-}" ]; then
	log "building svcnet from this checkout"
	make -s -C "$ROOT" build BIN="$TMP/svcnet" >&2
	SVCNET=$TMP/svcnet
	SVCNET_SOURCE=${SVCNET_SOURCE:-"this checkout at commit $(git -C "$ROOT" rev-parse --short HEAD) (with any uncommitted changes)"}
fi
SVCNET_SOURCE=${SVCNET_SOURCE:-"$SVCNET (given)"}
SVCNET=$(realpath "$SVCNET")

# --- conntrack table size (global): connection-per-request runs fill it.
CT_MAX=$(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null || echo 0)
if [ "$CT_MAX" -lt 1048576 ] && sysctl -qw net.netfilter.nf_conntrack_max=1048576 2>/dev/null; then
	CT_MAX_OLD=$CT_MAX
fi

# --- API server.
log "starting svcnet up"
DATA=$TMP/data
# --agent=false: the host itself must not become a node (the agent runs inside
# the node namespace below).
start server "$SVCNET" up --agent=false --data-dir "$DATA" --bind-address 127.0.0.1 --secure-port 0 \
	--etcd-compaction-interval 0 --log-level warn
KC=$DATA/admin.kubeconfig
kubectl() { "$SVCNET" kubectl --kubeconfig "$KC" "$@"; }
wait_for "the API server" 60 kubectl get service kubernetes
PORT=$(sed -n 's|^ *server: https://127.0.0.1:\([0-9]*\).*|\1|p' "$KC" | head -1)

# --- namespaces: node with bridge cbr0, pods on it.
mkns() { ip netns add "$1" && NAMESPACES+=("$1") && ip -n "$1" link set lo up; }
mkns "$NODE"
in_node() { ip netns exec "$NODE" "$@"; }
in_node sysctl -qw net.ipv4.ip_forward=1
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
# HAProxy's connections to the backend, one per request in close mode.
in_node sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
in_node sysctl -qw net.ipv4.tcp_tw_reuse=1
if [ "$TOPOLOGY" = bridge ]; then
	ip -n "$NODE" link add cbr0 type bridge
	ip -n "$NODE" addr add "$NODE_IP/24" dev cbr0
	ip -n "$NODE" link set cbr0 up
else
	# The pods' gateway address lives on the node's loopback device (this kernel
	# has no dummy devices); the node answers ARP for it on every pod's veth.
	ip -n "$NODE" addr add "$NODE_IP/32" dev lo
fi
# A default route, as a node has: into a veth pair inside the node, where
# nothing answers.
ip -n "$NODE" link add ext0 type veth peer name ext1
ip -n "$NODE" addr add 10.250.0.1/24 dev ext0
ip -n "$NODE" link set ext0 up
ip -n "$NODE" link set ext1 up
ip -n "$NODE" route add default via 10.250.0.254

# addpod NS IP DEV: a pod namespace on the bridge, or on its own routed veth.
addpod() {
	mkns "$1"
	ip -n "$NODE" link add "$3" type veth peer name eth0 netns "$1"
	if [ "$TOPOLOGY" = bridge ]; then
		ip -n "$NODE" link set "$3" master cbr0
		ip -n "$NODE" link set "$3" up
		ip -n "$1" addr add "$2/24" dev eth0
		ip -n "$1" link set eth0 up
		ip -n "$1" route add default via "$NODE_IP"
	else
		ip -n "$NODE" link set "$3" up
		ip -n "$1" addr add "$2/32" dev eth0
		ip -n "$1" link set eth0 up
		ip -n "$1" route add "$NODE_IP" dev eth0 scope link
		ip -n "$1" route add default via "$NODE_IP" dev eth0
		ip -n "$NODE" route add "$2/32" dev "$3"
	fi
}
addpod "$BE" "$BE_IP" vbe
for p in "${PATHS[@]}"; do
	addpod "${CLIENT[$p]}" "${CLIENT_IP[$p]}" "v$p"
	ip netns exec "${CLIENT[$p]}" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	ip netns exec "${CLIENT[$p]}" sysctl -qw net.ipv4.tcp_tw_reuse=1
done

# --- API relay into the node: host socat on a unix socket, node socat on
# 127.0.0.1:6443 (the path is reachable from every network namespace).
start relay-host socat UNIX-LISTEN:"$TMP/api.sock",fork TCP:127.0.0.1:"$PORT"
start relay-node ip netns exec "$NODE" socat TCP-LISTEN:6443,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$TMP/api.sock"
wait_for "the relay" 10 test -S "$TMP/api.sock"

# --- agent.
TOKEN=$("$SVCNET" token create node-1 --data-dir "$DATA")
start agent ip netns exec "$NODE" "$SVCNET" agent --server https://127.0.0.1:6443 --token "$TOKEN" \
	--certificate-authority "$DATA/pki/ca.crt" --node-name node-1 --node-ip "$NODE_IP" \
	--pod-cidr 10.244.1.0/24 --cluster-cidr 10.244.0.0/16 \
	--healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249
node_ready() { kubectl get node node-1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -q True; }
wait_for "node-1 Ready" 30 node_ready

# --- backend: nginx (small response) and iperf3.
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

# --- HAProxy, TCP mode, on the node's address.
cat >"$TMP/haproxy.cfg" <<EOF
global
	maxconn 9000
defaults
	mode tcp
	timeout connect 5s
	timeout client 120s
	timeout server 120s
frontend http
	bind $NODE_IP:8080
	default_backend http
backend http
	server backend $BE_IP:8080
frontend iperf
	bind $NODE_IP:5201
	default_backend iperf
backend iperf
	server backend $BE_IP:5201
EOF
start haproxy ip netns exec "$NODE" haproxy -db -f "$TMP/haproxy.cfg"

# --- the Service and its Pod through the API.
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: default, labels: {app: backend}}
spec:
  nodeName: node-1
  containers:
  - name: backend
    image: nginx
    ports: [{name: http, containerPort: 8080}, {name: iperf, containerPort: 5201}]
---
apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  selector: {app: backend}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: iperf, port: 5201, targetPort: iperf}
EOF
kubectl patch pod backend --subresource=status --type=merge -p \
	"{\"status\":{\"phase\":\"Running\",\"podIP\":\"$BE_IP\",\"podIPs\":[{\"ip\":\"$BE_IP\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >/dev/null
VIP=$(kubectl get service backend -o jsonpath='{.spec.clusterIP}')

declare -A HTTP=([direct]=$BE_IP:8080 [vip]=$VIP:80 [haproxy]=$NODE_IP:8080)
declare -A IPERF_HOST=([direct]=$BE_IP [vip]=$VIP [haproxy]=$NODE_IP)
for p in "${PATHS[@]}"; do
	wait_for "$p path" 30 ip netns exec "${CLIENT[$p]}" curl -sf -m 1 "http://${HTTP[$p]}/"
done
log "ClusterIP $VIP ready; direct $BE_IP, HAProxy $NODE_IP; $REPS rounds of ${DURATION}s runs"

# --- measurements. Each line of $TMP/raw: test path round value [p99_us].
RAW=$TMP/raw
: >"$RAW"
# flush_ct: every measurement starts from the same kernel state: the node's
# conntrack table empty, and no TIME_WAIT socket left by the run before (in
# close mode nginx closes first, so the backend keeps up to
# tcp_max_tw_buckets of them for 60 s, into the next path's run).
flush_ct() {
	in_node conntrack -F >/dev/null 2>&1 || true
	local n
	for n in "$BE" "$NODE" "${CLIENT[@]}"; do
		ip netns exec "$n" ss -K state time-wait >/dev/null 2>&1 || true
	done
}

iperf() { # path streams round
	local p=$1 n=$2 r=$3 bps
	flush_ct
	bps=$(ip netns exec "${CLIENT[$p]}" iperf3 -c "${IPERF_HOST[$p]}" -p 5201 -P "$n" -t "$DURATION" -J |
		jq '.end.sum_received.bits_per_second')
	echo "iperf$n $p $r $bps" >>"$RAW"
	log "round $r iperf3 -P $n $p: $(awk -v b="$bps" 'BEGIN{printf "%.2f Gbit/s", b/1e9}')"
}

# wrk_run path mode round: mode keepalive or close.
wrk_run() {
	local p=$1 mode=$2 r=$3 out rps p99 hdr=()
	[ "$mode" = close ] && hdr=(-H "Connection: close")
	flush_ct
	out=$(ip netns exec "${CLIENT[$p]}" wrk -t2 -c32 -d"${DURATION}s" --latency "${hdr[@]}" "http://${HTTP[$p]}/")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); print v} else if (v ~ /ms$/) {sub(/ms$/, "", v); print v*1000} else if (v ~ /s$/) {sub(/s$/, "", v); print v*1000000}}' <<<"$out")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		log "round $r wrk $mode $p: $(grep "Non-2xx\|Socket errors" <<<"$out" | tr -s ' ')"
		echo "errors wrk-$mode $p $r $(grep "Non-2xx\|Socket errors" <<<"$out" | tr -s ' ' | tr '\n' ' ')" >>"$TMP/errors"
	fi
	echo "wrk-$mode $p $r $rps $p99" >>"$RAW"
	log "round $r wrk $mode $p: $rps req/s, p99 ${p99} us"
}

for r in $(seq "$REPS"); do
	# Rotate the order of the paths from round to round.
	order=("${PATHS[@]:$(((r - 1) % 3))}" "${PATHS[@]:0:$(((r - 1) % 3))}")
	for p in "${order[@]}"; do iperf "$p" 1 "$r"; done
	for p in "${order[@]}"; do iperf "$p" 4 "$r"; done
	for p in "${order[@]}"; do wrk_run "$p" keepalive "$r"; done
	for p in "${order[@]}"; do wrk_run "$p" close "$r"; done
done

AGENT_ERRORS=$(grep -c 'level=ERROR' "$TMP/agent.log" || true)

# --- report.
REPORT=$TMP/report.md
{
	echo "# bench/dataplane/traffic ($TOPOLOGY): latest results"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs; kernel $(uname -r)"
	echo "- svcnet built from: $SVCNET_SOURCE"
	echo "- tools: $(iperf3 --version | head -1 | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), nginx $(nginx -v 2>&1 | cut -d/ -f2), HAProxy $(haproxy -v | head -1 | cut -d' ' -f3)"
	if [ "$TOPOLOGY" = bridge ]; then
		echo "- topology: bridge: every pod on the node's bridge cbr0 (bridge-nf-call-iptables=1), as the bridge CNI plugin sets a node up; direct traffic is switched by the bridge, ClusterIP traffic is DNATed on its way through it"
	else
		echo "- topology: routed: every pod on its own veth, routed by the node (/32 routes), as the ptp and Calico CNI plugins do and as the anchors in ../shared/refs/bench-anchors.md were measured; both paths are routed, ClusterIP traffic is DNATed on the way"
	fi
	echo "- command: \`TOPOLOGY=$TOPOLOGY DURATION=$DURATION REPS=$REPS bench/dataplane/traffic.sh\`; each figure is the median of $REPS rounds of ${DURATION} s, the paths interleaved in each round"
	echo "- agent errors logged during the run: $AGENT_ERRORS"
	echo
	$PY - "$RAW" "${TMP}/errors" <<'EOF'
import statistics, sys, os
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append([float(x) for x in f[3:]])
def med(test, path, i=0):
    v = [x[i] for x in rows.get((test, path), []) if len(x) > i]
    return statistics.median(v) if v else float("nan")
tests = [("iperf1", "iperf3, 1 stream", "Gbit/s", 1e-9, True),
         ("iperf4", "iperf3, 4 streams", "Gbit/s", 1e-9, True),
         ("wrk-keepalive", "wrk keep-alive (t2 c32), req/s", "", 1, True),
         ("wrk-keepalive", "wrk keep-alive, p99 latency", "us", 1, False),
         ("wrk-close", "wrk new connection per request (t2 c32), req/s", "", 1, True),
         ("wrk-close", "wrk new connection, p99 latency", "us", 1, False)]
def fmt(v, unit):
    if unit == "Gbit/s":
        return "%.2f Gbit/s" % v
    if unit == "us":
        return "%.0f us" % v if v < 10000 else "%.1f ms" % (v / 1000)
    return "{:,.0f}".format(v)
print("## Side by side\n")
print("Ratios are to the direct path of the same run. For req/s and throughput higher is better; for p99 latency the ratio is direct / path, so higher is better there too. Target: ClusterIP >= 0.95x direct on every figure, judged on the ratio of the medians. The paired column is for reading only: the median of the ClusterIP's per-round ratios (the paths of one round run within about a minute of each other, so slower drifts of the machine cancel) and their range.\n")
print("| figure | direct | ClusterIP (svcnet) | x direct | paired: median (range) | HAProxy TCP | x direct | ClusterIP target |")
print("|---|---|---|---|---|---|---|---|")
verdicts = []
for test, label, unit, scale, higher in tests:
    i = 0 if higher or test.startswith("iperf") else 1
    d, v, h = (med(test, p, i) * scale for p in ("direct", "vip", "haproxy"))
    rv = v / d if higher else d / v
    rh = h / d if higher else d / h
    ok = rv >= 0.95
    verdicts.append(ok)
    pairs = [(x[i] / y[i] if higher else y[i] / x[i]) for x, y in zip(rows.get((test, "vip"), []), rows.get((test, "direct"), []))
             if len(x) > i and len(y) > i and x[i] > 0 and y[i] > 0]
    paired = "%.2fx (%.2f-%.2f)" % (statistics.median(pairs), min(pairs), max(pairs)) if pairs else "-"
    print("| %s | %s | %s | %.2fx | %s | %s | %.2fx | %s |" % (label, fmt(d, unit), fmt(v, unit), rv, paired, fmt(h, unit), rh, "PASS" if ok else "**FAIL**"))
print("\nClusterIP >= 0.95x direct on every figure: %s\n" % ("PASS" if all(verdicts) else "**FAIL**"))
print("## Every round\n")
print("| test | path | " + " | ".join("round %d" % (r + 1) for r in range(max(len(x) for x in rows.values()))) + " |")
print("|---|---|" + "---|" * max(len(x) for x in rows.values()))
for test, label, unit, scale, higher in tests:
    i = 0 if higher or test.startswith("iperf") else 1
    for p in ("direct", "vip", "haproxy"):
        vals = [fmt(x[i] * scale, unit) for x in rows.get((test, p), []) if len(x) > i]
        print("| %s | %s | %s |" % (label, {"vip": "ClusterIP"}.get(p, p), " | ".join(vals)))
if os.path.exists(sys.argv[2]):
    print("\nwrk reported errors:\n\n```")
    print(open(sys.argv[2]).read().strip())
    print("```")
EOF
} >"$REPORT"
cat "$REPORT"
if [ -n "$OUT" ]; then cp "$REPORT" "$OUT"; log "wrote $OUT"; fi
