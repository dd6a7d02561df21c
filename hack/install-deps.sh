#!/usr/bin/env bash
# Installs what svcnet's tests need on a fresh Debian machine with the Go toolchain:
# Debian packages (stock kubectl, etcd for the external-cluster tests) and Go modules.
set -euo pipefail
pkgs=(kubernetes-client etcd-server)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The etcd-server package starts a system etcd on the default ports; tests run their own.
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now etcd >/dev/null 2>&1 || true; fi
  pkill -x etcd >/dev/null 2>&1 || true
fi
go mod download
