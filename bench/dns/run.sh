#!/usr/bin/env bash
# bench/dns/run.sh: svcnet's cluster DNS next to CoreDNS's kubernetes plugin, one run.
#
# Builds svcnet from the committed HEAD of this checkout (a `git archive` in a
# temp dir, so that uncommitted work in the tree is not measured by accident),
# and CoreDNS from the benchmark-only module bench/dns/coredns of the same
# commit (its go.mod and go.sum pin the version; the Go module proxy serves the
# source into the module cache, nothing fetched is committed). Then it runs the
# benchmark program (bench/dns, package main) and writes bench/dns/results.md.
# Needs dnsperf and taskset; installs nothing.
#
# Environment: SVCNET=<binary> measures a svcnet binary of your own instead
# (the results then say so); COREDNS=<binary> likewise for CoreDNS; PROFILE=15s
# is how long svcnet's DNS is CPU-profiled under load after the runs (0: not);
# OUT= is the results file (default bench/dns/results.md). Any arguments are
# passed to the program, e.g. `bench/dns/run.sh --rounds 1 --duration 3s`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
for b in dnsperf taskset git go; do
	command -v "$b" >/dev/null || { echo "bench/dns/run.sh: $b missing (apt-get install dnsperf util-linux git)" >&2; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench/dns/run.sh: needs 2 CPUs (dnsperf on one, the DNS servers on the other)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/sdns-run.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

COMMIT=$(git rev-parse HEAD)
if [ -z "${SVCNET:-}" ] || [ -z "${COREDNS:-}" ]; then
	mkdir "$TMP/src"
	git archive "$COMMIT" | tar -x -C "$TMP/src"
fi
if [ -z "${SVCNET:-}" ]; then
	make -s -C "$TMP/src" build BIN="$TMP/svcnet" >&2
	SVCNET=$TMP/svcnet
	SOURCE="commit ${COMMIT:0:12} (committed tree, built by run.sh)"
else
	SOURCE="${SVCNET} (given; tree at commit ${COMMIT:0:12})"
fi
if [ -z "${COREDNS:-}" ]; then
	CDVER=$(cd "$TMP/src/bench/dns/coredns" && go list -m -f '{{.Version}}' github.com/coredns/coredns)
	(cd "$TMP/src/bench/dns/coredns" && go build -buildvcs=false -o "$TMP/coredns" .) >&2
	COREDNS=$TMP/coredns
	CDSOURCE="github.com/coredns/coredns ${CDVER} as a module dependency, bench/dns/coredns at commit ${COMMIT:0:12}, built by run.sh"
else
	CDSOURCE="${COREDNS} (given)"
fi

go build -o "$TMP/benchdns" ./bench/dns
"$TMP/benchdns" --svcnet "$SVCNET" --source "$SOURCE" --coredns "$COREDNS" --coredns-source "$CDSOURCE" \
	--profile "${PROFILE:-15s}" --out "${OUT:-bench/dns/results.md}" "$@"
