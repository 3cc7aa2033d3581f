#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the lab need, if they are missing.
# Needs root (apt-get). Safe to run again: installed packages are left alone.
# Go is not installed from Debian (bookworm's 1.19 cannot build Kubernetes 1.34): scripts/build-control-plane.sh
# needs Go >= 1.21 on PATH and fetches the toolchain it needs through the Go module proxy.
set -euo pipefail

PACKAGES=(
  iproute2          # ip netns / veth / bridge for the test labs, and address changes by the agent
  libpcap0.8        # pcap4j's native library (the agent's packet I/O)
  libpcap-dev       # provides the unversioned libpcap.so that pcap4j loads by default
  ucarp             # a real CARP peer for interop tests
  nftables          # stateful firewall rules in the sync tests, hash rules for IP balancing
  conntrack         # conntrack CLI, used by tests to inspect the kernel's table (kube-proxy needs it too)
  libnetfilter-conntrack3  # libnetfilter_conntrack.so.3, loaded through JNA by the agent's state sync (ctnetlink)
  iputils-ping      # reachability checks inside test namespaces
  procps            # pkill/ps in test scripts
  keepalived        # VRRP peer measured beside the agent by ./carp bench
  conntrackd        # conntrack state replication measured beside the state sync by ./carp bench
  # Real Kubernetes nodes (the lab and the end-to-end tests): each node namespace runs its own containerd + runc
  containerd        # the container runtime behind each lab node's kubelet (CRI)
  runc              # the OCI runtime containerd starts containers with
  containernetworking-plugins  # CNI bridge, host-local, loopback, portmap for pods that are not on the host network
  socat             # forwards the test JVM's loopback to the API server inside the control plane's namespace
  openssl           # the lab cluster's CA, serving and client certificates
  iptables          # kube-proxy's iptables mode programs Services inside each node namespace
  # Images built here with no registry (scripts/build-images.sh --offline)
  mmdebstrap        # the base root filesystem from Debian packages
  podman            # builds the images from images/*/Containerfile on that base, with no network in the build
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then echo "[deps] all Debian packages present"; exit 0; fi
if [[ $(id -u) != 0 ]]; then
  echo "[deps] missing Debian packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[deps] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[deps] installed"
