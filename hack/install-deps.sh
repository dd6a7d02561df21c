#!/usr/bin/env bash
# Installs what svcnet's tests need on a fresh Debian machine with the Go toolchain:
# Debian packages and Go modules.
#   - etcd-server: a real etcd for the external-cluster tests (its service is not started).
#   - nftables, iproute2, procps: nft to inspect tables in tests, ip for network
#     namespaces, sysctl inside them.
#   - kubernetes-client: Debian's stock kubectl. Some images already ship another
#     package owning /usr/bin/kubectl, so the Debian binary is unpacked under
#     $TOOLS_DIR instead of installed over it; tests find it there.
set -euo pipefail
TOOLS_DIR=${SVCNET_TOOLS_DIR:-/opt/svcnet-tools}
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

updated=""
apt_update() { [ -n "$updated" ] || { $sudo apt-get update -qq; updated=1; }; }

if ! dpkg -s etcd-server >/dev/null 2>&1 || ! command -v etcd >/dev/null 2>&1; then
  apt_update
  # Keep the package's init script from starting a system etcd on the default ports.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends etcd-server >/dev/null || true
  $sudo dpkg --configure -a >/dev/null 2>&1 || true
  $sudo rm -f /usr/sbin/policy-rc.d
  command -v etcd >/dev/null
fi

# nftables: the nft command, which tests use to inspect the kernel table the agent
# programs over netlink (svcnet itself never runs it). iproute2: network namespaces.
# bind9-dnsutils: dig, the DNS client of the cluster DNS tests.
for pkg in nftables iproute2 procps bind9-dnsutils; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    apt_update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
done

if [ ! -x "$TOOLS_DIR/kubernetes-client/usr/bin/kubectl" ]; then
  apt_update
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null)
  $sudo mkdir -p "$TOOLS_DIR/kubernetes-client"
  $sudo dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$TOOLS_DIR/kubernetes-client"
  rm -rf "$tmp"
fi
"$TOOLS_DIR/kubernetes-client/usr/bin/kubectl" version --client >/dev/null

go mod download
