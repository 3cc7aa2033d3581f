#!/usr/bin/env bash
# ./carp bench: builds the bench module and runs dev.carpoperator.bench.BenchMain (bench/): network-namespace labs
# measuring this project beside ucarp, keepalived and conntrackd; results in bench-results/ (JSON, PNG, report.md).
#
#   ./carp bench                    every part, full rounds (see docs/benchmarks.md for how long)
#   ./carp bench --quick            every part, few rounds: to try the harness, not for published figures
#   ./carp bench failover sync      only these parts;  ./carp bench --help lists them
#   ./carp bench key=value ...      options of the parts (docs/benchmarks.md)
#   ./carp bench --out DIR          results elsewhere (default bench-results/)
#   ./carp bench --no-build         skip the Maven build
#
# CARP_MVN_LOCK, when set, is a lock file the Maven build waits for (shared build trees).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JAR=$ROOT/bench/target/carp-bench.jar
die() { printf 'carp bench: %s\n' "$*" >&2; exit 1; }

build=true args=()
for a in "$@"; do
  case $a in
    --no-build) build=false ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
[[ $(id -u) == 0 ]] || die "the benchmarks need root (network namespaces, raw sockets, conntrack): run it with sudo ./carp bench"
JAVA_HOME=$(scripts/java-home.sh 2>/dev/null) || die "a JDK 25 is needed: install Temurin 25 (or any JDK 25) under /usr/lib/jvm, or set JAVA_HOME"
export JAVA_HOME
scripts/install-deps.sh
scripts/build-control-plane.sh >/dev/null # the operator scale part runs a real API server (cached after the first build)
if $build; then
  lock=()
  [[ -n ${CARP_MVN_LOCK:-} ]] && lock=(flock "$CARP_MVN_LOCK")
  "${lock[@]}" ./mvnw -B -q -Dmaven.test.skip=true package -pl bench -am
fi
[[ -f $JAR ]] || die "$JAR is missing: run ./carp bench without --no-build"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -jar "$JAR" "${args[@]}"
