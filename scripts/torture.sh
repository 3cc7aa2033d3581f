#!/usr/bin/env bash
# ./carp torture: builds the bench module and runs dev.carpoperator.bench.torture.TortureMain: four firewalls in network
# namespaces with real agents (CARP + state sync), long-lived TCP sessions through the VIPs, and a seeded chaos
# driver killing, stopping, cutting off and rebooting nodes. Prints a line per step and a summary; results in
# bench-results/torture.json (and report.md). Exit status 0 when no session was interrupted. See docs/torture.md.
#
#   ./carp torture --duration 30m           30 minutes of chaos (default), a random seed (printed)
#   ./carp torture --duration 10m --seed 8  reproduce a run's choices
#   ./carp torture --connections 24 --stall 30s --nat --out DIR
#   ./carp torture --faults sync_cut,link_cut,sync_impair,freeze --second-fault 0.8   fault kinds (default all)
#   ./carp torture --no-build               skip the Maven build
#   ./carp torture --kubernetes --duration 30m [--seed N] [--faults pod,power,api,upgrade] [--api-outage 90s]
#                                           the Kubernetes variant on the lab's real nodes (./carp lab --torture)
#
# CARP_MVN_LOCK, when set, is a lock file the Maven build waits for (shared build trees).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JAR=$ROOT/bench/target/carp-bench.jar
die() { printf 'carp torture: %s\n' "$*" >&2; exit 1; }

build=true args=()
for a in "$@"; do
  case $a in
    --no-build) build=false ;;
    --kubernetes) kubernetes=true ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
if [[ ${kubernetes:-false} == true ]]; then
  # The same options, for the lab: --duration becomes --torture (default 30m); --no-build passes on.
  lab=() duration=30m
  set -- "${args[@]}"
  while (($#)); do
    case $1 in
      --duration) duration=$2; shift ;;
      --seed|--faults|--api-outage) lab+=("$1" "$2"); shift ;;
      *) die "$1 is not an option of the Kubernetes variant (--duration, --seed, --faults, --api-outage, --no-build)" ;;
    esac
    shift
  done
  $build || lab+=(--no-build)
  exec scripts/lab.sh --torture "$duration" "${lab[@]}"
fi
[[ $(id -u) == 0 ]] || die "the torture run needs root (network namespaces, raw sockets, conntrack): run it with sudo ./carp torture"
JAVA_HOME=$(scripts/java-home.sh 2>/dev/null) || die "a JDK 25 is needed: install Temurin 25 (or any JDK 25) under /usr/lib/jvm, or set JAVA_HOME"
export JAVA_HOME
scripts/install-deps.sh
if $build; then
  lock=()
  [[ -n ${CARP_MVN_LOCK:-} ]] && lock=(flock "$CARP_MVN_LOCK")
  "${lock[@]}" ./mvnw -B -q -Dmaven.test.skip=true package -pl bench -am
fi
[[ -f $JAR ]] || die "$JAR is missing: run ./carp torture without --no-build"
# A private copy of the jar and its lib/: a run lasts long, and a rebuild of bench/target meanwhile (another
# checkout user, an IDE) would pull classes from under the running JVMs.
RUN=$(mktemp -d /tmp/carp-torture-XXXXXX)
trap 'rm -rf "$RUN"' EXIT
cp "$JAR" "$RUN/" && cp -r "$ROOT/bench/target/lib" "$RUN/lib"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$RUN/carp-bench.jar" dev.carpoperator.bench.torture.TortureMain "${args[@]}"
