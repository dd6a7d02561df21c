#!/usr/bin/env bash
# bench/dataplane/run.sh: the whole data plane benchmark, one run.
#
# Builds svcnet from the committed HEAD of this checkout (a `git archive` in a
# temp dir, so that uncommitted work in the tree is not measured by accident),
# runs traffic.sh twice (routed, then bridge topology) and then the programming
# benchmark, one after the other, and writes the reports into
# bench/dataplane/results.md. Needs root. Set
# SVCNET=<binary> to measure a binary of your own instead (the results then say
# so), and SIZES=1000,10000 to stop the programming part earlier.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TMP=$(mktemp -d /tmp/sdr.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if [ -z "${SVCNET:-}" ]; then
	COMMIT=$(git rev-parse HEAD)
	mkdir "$TMP/src"
	git archive "$COMMIT" | tar -x -C "$TMP/src"
	make -s -C "$TMP/src" build BIN="$TMP/svcnet" >&2
	SVCNET=$TMP/svcnet
	SOURCE="commit ${COMMIT:0:12} (committed tree, built by run.sh)"
else
	SOURCE="${SVCNET} (given; tree at commit $(git rev-parse --short HEAD))"
fi
export SVCNET SVCNET_SOURCE=$SOURCE

go build -o "$TMP/programming" ./bench/dataplane/programming
# Both ways a node attaches its pods: routed veths (the anchor figures'
# topology) and a bridge with br_netfilter.
for topology in routed bridge; do
	TOPOLOGY=$topology OUT=$TMP/traffic-$topology.md bench/dataplane/traffic.sh
done
"$TMP/programming" --svcnet "$SVCNET" --source "$SOURCE" --services "${SIZES:-1000,10000,30000}" --out "$TMP/programming.md"

{
	echo "# bench/dataplane: latest results"
	echo
	echo "Written by \`bench/dataplane/run.sh\`; see README.md for what is measured and how to read it."
	echo
	for topology in routed bridge; do
		sed 's/^#/##/' "$TMP/traffic-$topology.md"
		echo
	done
	sed 's/^#/##/' "$TMP/programming.md"
} >bench/dataplane/results.md
echo "wrote bench/dataplane/results.md" >&2
