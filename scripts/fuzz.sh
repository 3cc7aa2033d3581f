#!/usr/bin/env bash
# ./carp fuzz: fuzzes the agent's hostile-input parsers with Jazzer (agent/src/test/java/.../fuzz, docs/hostile-input.md).
#
#   ./carp fuzz                      every target for 10 minutes each (carp, pfsync, envelope, config)
#   ./carp fuzz --duration 1h        each target this long (Jazzer durations: 30s, 10m, 1h)
#   ./carp fuzz carp config          only these targets
#   ./carp fuzz --seeds              rewrite the committed seed corpora from the encoders (after a wire format change)
#
# A crash stops that target and is written under agent/src/test/resources/dev/carpoperator/agent/fuzz/<Test>Inputs/
# <method>/crash-*: from then on mvn verify replays it, so fix the bug and commit the input as a regression seed.
# The working corpus grows in agent/.cifuzz-corpus (ignored by git) and is reused by the next run.
# Needs no root. CARP_MVN_LOCK, when set, is a lock file each Maven run waits for (shared build trees).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
die() { printf 'carp fuzz: %s\n' "$*" >&2; exit 1; }
declare -A methods
declare -A TARGETS=([carp]=CarpAdvertFuzzTest [pfsync]=PfsyncFuzzTest [envelope]=SyncEnvelopeFuzzTest [config]=ConfigFuzzTest)

duration=10m seeds=false selected=()
while (($#)); do
  case $1 in
    --duration) [[ $# -ge 2 ]] || die "--duration needs a value (e.g. 10m)"; duration=$2; shift ;;
    --duration=*) duration=${1#*=} ;;
    --seeds) seeds=true ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) [[ -n ${TARGETS[$1]:-} ]] || die "unknown target '$1' (known: ${!TARGETS[*]})"; selected+=("$1") ;;
  esac
  shift
done
((${#selected[@]})) || selected=(carp pfsync envelope config)
JAVA_HOME=$(scripts/java-home.sh 2>/dev/null) || die "a JDK 25 is needed: install Temurin 25 under /usr/lib/jvm, or set JAVA_HOME"
export JAVA_HOME
lock=()
[[ -n ${CARP_MVN_LOCK:-} ]] && lock=(flock "$CARP_MVN_LOCK")

# Build once (under the lock), then fuzz outside Maven with Jazzer's own driver, so a long run holds no lock.
"${lock[@]}" ./mvnw -B -q -pl agent -am test-compile
cp=$(cd agent && "${lock[@]}" ../mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/dev/stdout)
# A private copy of the classes: another build in this tree (mvn verify) must not pull them away mid-run.
classes=$(mktemp -d /tmp/carp-fuzz-classes.XXXXXX)
trap 'rm -rf "$classes"' EXIT
cp -r agent/target/classes "$classes/main" && cp -r agent/target/test-classes "$classes/test"
cp="$classes/test:$classes/main:$cp"
java=("$JAVA_HOME/bin/java" -XX:+EnableDynamicAgentLoading --enable-native-access=ALL-UNNAMED -cp "$cp")
if $seeds; then
  (cd agent && "${java[@]}" dev.carpoperator.agent.fuzz.FuzzSeeds)
  exit 0
fi

seconds() { # Jazzer-style duration (90s, 10m, 1h, or plain seconds) -> seconds
  [[ $1 =~ ^([0-9]+)([smh]?)$ ]] || die "bad duration '$1' (e.g. 90s, 10m, 1h)"
  case ${BASH_REMATCH[2]} in m) echo $((BASH_REMATCH[1] * 60)) ;; h) echo $((BASH_REMATCH[1] * 3600)) ;; *) echo "${BASH_REMATCH[1]}" ;; esac
}
max=$(seconds "$duration")
methods+=([CarpAdvertFuzzTest]=ipPacket [PfsyncFuzzTest]=pfsyncPacket [SyncEnvelopeFuzzTest]=sealedPacket [ConfigFuzzTest]=yaml)
failed=()
for t in "${selected[@]}"; do
  test=${TARGETS[$t]} method=${methods[$test]}
  seeds=$ROOT/agent/src/test/resources/dev/carpoperator/agent/fuzz/${test}Inputs/$method
  corpus=$ROOT/agent/.cifuzz-corpus/dev.carpoperator.agent.fuzz.$test/$method
  mkdir -p "$corpus"
  echo "carp fuzz: $t ($test.$method) for $duration"
  # The first directory is the working corpus (grows), the second the committed seed inputs (read only); a crash is
  # written next to them (artifact_prefix), where mvn verify replays it from then on.
  if ! (cd "$corpus" && "${java[@]}" com.code_intelligence.jazzer.Jazzer \
      --target_class="dev.carpoperator.agent.fuzz.$test" --target_method="$method" \
      --instrumentation_includes='dev.carpoperator.**:com.fasterxml.jackson.**:org.yaml.snakeyaml.**' \
      -max_total_time="$max" -artifact_prefix="$seeds/" -print_final_stats=1 "$corpus" "$seeds" \
      > "$corpus/../$method.log" 2>&1); then
    failed+=("$t")
    grep -E -A15 '== Java Exception|FuzzerSecurityIssue|ERROR' "$corpus/../$method.log" | head -30 >&2 || true
  fi
  grep -E '^(stat::number_of_executed_units|Done )' "$corpus/../$method.log" | sed "s/^/carp fuzz: $t: /" || true
done
if ((${#failed[@]})); then
  echo "carp fuzz: findings in: ${failed[*]} (the crash inputs: git status agent/src/test/resources; logs under agent/.cifuzz-corpus)" >&2
  exit 1
fi
echo "carp fuzz: no findings"
