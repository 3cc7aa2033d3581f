#!/usr/bin/env bash
# ./carp lab: checks what the lab needs (root, network namespaces, packages, JDK 25, Kubernetes built from source,
# helm), builds the jars, then runs the story (lab/: dev.carpoperator.lab.LabMain), which builds the images offline,
# starts real nodes and installs the chart.
#
#   ./carp lab              the story, then everything is cleaned up
#   ./carp lab --keep       the story, then the lab stays up (in the background) for kubectl; prints how to reach it
#   ./carp lab down         tears a kept lab down
#   ./carp lab --no-build   skip the Maven build (the jars in lab/target are recent)
#   ./carp lab --torture 30m [--seed N] [--faults pod,power,api,upgrade] [--api-outage 90s]
#                           the story, then the torture's Kubernetes variant (docs/torture.md): agent pods deleted,
#                           nodes' power cut, the API server and etcd stopped, helm upgrades, sessions throughout
#
# CARP_LAB_DIR (default /run/carp-lab) holds the lab's log and, while a lab is kept, its state file.
# CARP_MVN_LOCK, when set, is a lock file the Maven build waits for (shared build trees).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LAB_DIR=${CARP_LAB_DIR:-/run/carp-lab}
JAR=$ROOT/lab/target/carp-lab.jar

say() { printf '[lab] %s\n' "$*"; }
die() { printf 'carp lab: %s\n' "$*" >&2; exit 1; }

keep=false build=true down=false torture=()
while (($#)); do
  case $1 in
    --keep) keep=true ;;
    --no-build) build=false ;;
    down) down=true ;;
    --torture|--seed|--faults|--api-outage)
      (($# >= 2)) || die "$1 needs a value"
      torture+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (./carp lab [--keep] [--no-build] [--torture 30m ...] | ./carp lab down)" ;;
  esac
  shift
done

[[ $(id -u) == 0 ]] || die "the lab needs root (network namespaces, veth links, raw sockets, nftables): run it with sudo ./carp lab"
JAVA_HOME=$(scripts/java-home.sh 2>/dev/null) || die "a JDK 25 is needed: install Temurin 25 (or any JDK 25) under /usr/lib/jvm, or set JAVA_HOME"
export JAVA_HOME
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -jar "$JAR")

if $down; then
  [[ -f $JAR ]] || die "$JAR is missing: nothing was built, so no lab can be running"
  exec "${JAVA[@]}" down --dir "$LAB_DIR"
fi

# Network namespaces, bridges, veth pairs and nftables: tried in a throw-away namespace.
probe=carp-lab-probe-$$
if ! err=$(ip netns add "$probe" 2>&1); then
  die "network namespaces are unavailable here ($err). The lab needs a Linux kernel with network namespaces and CAP_SYS_ADMIN:
  in a container, run it with --privileged; WSL1 and gVisor cannot run it."
fi
trap 'ip netns delete "$probe" 2>/dev/null || true' EXIT
ip -n "$probe" link add carp-br type bridge 2>/dev/null || die "cannot create a bridge in a network namespace: load the bridge module (modprobe bridge)"
ip -n "$probe" link add carp-v0 type veth peer name carp-v1 2>/dev/null || die "cannot create a veth pair: load the veth module (modprobe veth)"

# Packages: what ./carp test installs (Debian), or a clear list elsewhere.
if command -v dpkg-query >/dev/null; then
  scripts/install-deps.sh
else
  for c in ip nft conntrack; do
    command -v "$c" >/dev/null || die "'$c' is missing: install iproute2, nftables, conntrack, libpcap and libnetfilter_conntrack with your package manager"
  done
fi
ip netns exec "$probe" nft list tables >/dev/null 2>&1 || die "nftables does not work in a network namespace: load nf_tables (modprobe nf_tables)"
ip netns delete "$probe"
trap - EXIT

# Kubernetes (control plane, and the nodes' kubelet and kube-proxy) is built from source once and cached.
bin=$(scripts/build-control-plane.sh --print)
if [[ -x $bin/kube-apiserver && -x $bin/etcd && -x $bin/kubectl && -x $bin/kubelet && -x $bin/kube-proxy && -x $bin/kube-scheduler ]]; then
  say "Kubernetes (control plane, kubelet, kube-proxy): cached in $bin"
else
  command -v go >/dev/null || die "Go >= 1.21 is needed once, to build the Kubernetes control plane from source: install it (https://go.dev/dl) and retry"
  say "building Kubernetes from source (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy)."
  say "The first build takes about 5 minutes on 2 cores; it is cached in ${bin%/bin} for the next runs."
  t0=$SECONDS
  ( while sleep 30; do say "... still building ($((SECONDS - t0)) s)"; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null || true' EXIT
  scripts/build-control-plane.sh >/dev/null
  kill $ticker 2>/dev/null || true
  trap - EXIT
  say "Kubernetes built in $((SECONDS - t0)) s"
fi
helm=$(scripts/install-helm.sh) || die "helm could not be installed (scripts/install-helm.sh)"
say "helm: $helm"

if $build; then
  say "building the operator, the agent and the lab (Maven; a minute or two the first time)"
  lock=()
  [[ -n ${CARP_MVN_LOCK:-} ]] && lock=(flock "$CARP_MVN_LOCK")
  "${lock[@]}" ./mvnw -B -q -Dmaven.test.skip=true package -pl lab -am
fi
[[ -f $JAR ]] || die "$JAR is missing: run ./carp lab without --no-build"

mkdir -p "$LAB_DIR"
if ! $keep; then
  exec "${JAVA[@]}" --dir "$LAB_DIR" "${torture[@]}"
fi

# --keep: the lab runs on in its own session; follow its output until it says it is up (or fails).
out=$LAB_DIR/lab.out
: >"$out"
setsid "${JAVA[@]}" --keep --dir "$LAB_DIR" "${torture[@]}" >"$out" 2>&1 </dev/null &
pid=$!
tail -n +1 -f --pid="$pid" "$out" &
tail_pid=$!
trap 'kill $tail_pid 2>/dev/null; echo; say "the lab goes on in the background (pid $pid); its output: $out; stop it with: sudo ./carp lab down"; exit 130' INT
while kill -0 "$pid" 2>/dev/null && [[ ! -s $LAB_DIR/state.properties ]]; do sleep 0.5; done
sleep 1
kill "$tail_pid" 2>/dev/null || true
if ! kill -0 "$pid" 2>/dev/null; then
  rc=0
  wait "$pid" || rc=$?
  exit "$rc"
fi
