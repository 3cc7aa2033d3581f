#!/usr/bin/env bash
# Builds the container images of the operator and the agent with docker or podman, tagged as the Helm chart
# expects by default: ghcr.io/carp-operator/carp-operator:VERSION and ghcr.io/carp-operator/carp-agent:VERSION,
# VERSION being the project version without -SNAPSHOT (the chart's appVersion).
#
#   scripts/build-images.sh                    # Maven package, stage the contexts, build both images
#   scripts/build-images.sh --push             # ... and push them
#   scripts/build-images.sh --stage-only       # only the Maven build and the contexts (target/images/*), no engine
#
# Environment: CARP_IMAGE_REGISTRY (default ghcr.io/carp-operator), CARP_IMAGE_TAG (default VERSION),
# CONTAINER_ENGINE (default: podman if present, else docker), CARP_IMAGE_PLATFORM (default linux/amd64; also
# linux/arm64), JRE_IMAGE (default docker.io/library/eclipse-temurin:25-jre-noble).
# Then install the chart with --set operator.image.repository=... --set agent.image.repository=... (docs/install.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

REGISTRY=${CARP_IMAGE_REGISTRY:-ghcr.io/carp-operator}
PLATFORM=${CARP_IMAGE_PLATFORM:-linux/amd64}
JRE_IMAGE=${JRE_IMAGE:-docker.io/library/eclipse-temurin:25-jre-noble}
push=false stage_only=false
for arg in "$@"; do
  case $arg in
    --push) push=true ;;
    --stage-only) stage_only=true ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-images: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -1)
[[ -n $version ]] || die "cannot read the project version from pom.xml"
TAG=${CARP_IMAGE_TAG:-${version%-SNAPSHOT}}
case $PLATFORM in
  linux/amd64) jna_arch=linux-x86-64 ;;
  linux/arm64) jna_arch=linux-aarch64 ;;
  *) die "CARP_IMAGE_PLATFORM=$PLATFORM: linux/amd64 or linux/arm64" ;;
esac

engine=${CONTAINER_ENGINE:-}
if ! $stage_only && [[ -z $engine ]]; then
  if command -v podman >/dev/null; then engine=podman
  elif command -v docker >/dev/null; then engine=docker
  else die "neither podman nor docker is installed (set CONTAINER_ENGINE, or use --stage-only to prepare the build contexts)"; fi
fi

JAVA_HOME=$(scripts/java-home.sh) || die "a JDK 25 is needed (scripts/java-home.sh)"
export JAVA_HOME
log "building the jars (./mvnw package, tests skipped)"
./mvnw -B -q -DskipTests package -pl operator,agent -am

stage="$ROOT/target/images"
rm -rf "$stage"
mkdir -p "$stage/operator" "$stage/agent/native"
cp images/operator/Containerfile "$stage/operator/"
cp operator/target/carp-operator.jar "$stage/operator/"
cp -r operator/target/lib "$stage/operator/lib"
cp images/agent/Containerfile "$stage/agent/"
cp agent/target/carp-agent.jar "$stage/agent/"
cp -r agent/target/lib "$stage/agent/lib"
jna_jar=$(ls "$stage"/agent/lib/jna-[0-9]*.jar | head -1)
(cd "$stage/agent/native" && "$JAVA_HOME/bin/jar" xf "$jna_jar" "com/sun/jna/$jna_arch/libjnidispatch.so" \
  && mv "com/sun/jna/$jna_arch/libjnidispatch.so" . && rm -rf com)
[[ -f $stage/agent/native/libjnidispatch.so ]] || die "no com/sun/jna/$jna_arch/libjnidispatch.so in $jna_jar"
log "build contexts ready: $stage/operator, $stage/agent"
if $stage_only; then exit 0; fi

for image in operator agent; do
  ref="$REGISTRY/carp-$image:$TAG"
  log "building $ref ($PLATFORM) with $engine"
  "$engine" build --platform "$PLATFORM" --build-arg "JRE_IMAGE=$JRE_IMAGE" --build-arg "VERSION=$TAG" \
    -t "$ref" -f "$stage/$image/Containerfile" "$stage/$image"
  if $push; then log "pushing $ref"; "$engine" push "$ref"; fi
done
log "done. Install the chart with these images:"
echo "  helm install carp helm/carp-operator -n carp-system --create-namespace \\"
echo "    --set operator.image.repository=$REGISTRY/carp-operator --set operator.image.tag=$TAG \\"
echo "    --set agent.image.repository=$REGISTRY/carp-agent --set agent.image.tag=$TAG"
