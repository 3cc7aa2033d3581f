#!/usr/bin/env bash
# Builds the container images of the operator and the agent, tagged as the Helm chart expects by default:
# ghcr.io/carp-operator/carp-operator:VERSION and ghcr.io/carp-operator/carp-agent:VERSION, VERSION being the project
# version without -SNAPSHOT (the chart's appVersion).
#
#   scripts/build-images.sh                    # Maven package, stage the contexts, build both images (docker or podman)
#   scripts/build-images.sh --push             # ... and push them
#   scripts/build-images.sh --stage-only       # only the Maven build and the contexts (target/images/*), no engine
#   scripts/build-images.sh --offline          # no registry at all (podman): a Debian base from this machine's apt
#                                              # mirror with a jlinked Java 25, both images, a pause image and the lab's backend (lab-echo), saved
#                                              # as archives for `ctr -n k8s.io images import`; prints their directory
#                                              # (the last line of stdout)
#
# Options: --no-maven uses the jars already in operator/target and agent/target (no Maven run); --tag TAG sets the
# tag (like CARP_IMAGE_TAG); --push also works with --offline (to a registry you can reach).
# --offline writes ${CARP_CACHE:-~/.cache/carp-operator}/images/TAG/{carp-operator,carp-agent,pause,lab-echo}.tar and
# images.env (OPERATOR_IMAGE, AGENT_IMAGE, PAUSE_IMAGE, ECHO_IMAGE); it caches the root filesystem and the Java runtime by their
# inputs (CARP_REBUILD_BASE=1 makes a new root filesystem, e.g. for security updates) and needs root, podman,
# mmdebstrap, Go (the pause and lab-echo programs) and a JDK 25 (docs/install.md).
#
# Environment: CARP_IMAGE_REGISTRY (default ghcr.io/carp-operator), CARP_IMAGE_TAG (default VERSION),
# CONTAINER_ENGINE (default: podman if present, else docker), CARP_IMAGE_PLATFORM (default linux/amd64, with
# --offline the machine's own; also linux/arm64), JRE_IMAGE (default docker.io/library/eclipse-temurin:25-jre-noble;
# not used by --offline).
# Then install the chart with --set operator.image.repository=... --set agent.image.repository=... (docs/install.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

REGISTRY=${CARP_IMAGE_REGISTRY:-ghcr.io/carp-operator}
JRE_IMAGE=${JRE_IMAGE:-docker.io/library/eclipse-temurin:25-jre-noble}
CACHE_ROOT=${CARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carp-operator}
PAUSE_REF=localhost/carp-operator/pause:1.0
# The lab's Service backend (images/lab-echo): not part of the product, built with --offline for ./carp lab.
ECHO_REF=localhost/carp-operator/lab-echo:1.0
# The agent's native packages by their Debian bookworm names (the offline base); images/agent/Containerfile
# installs them from the base's distribution when they are missing.
AGENT_PACKAGES=(libpcap0.8 iproute2 nftables libnetfilter-conntrack3 libnfnetlink0 conntrack)
# Modules jdeps cannot see: ECDHE key exchange in TLS to the API server, DNS lookups through JNDI, zip file systems.
EXTRA_MODULES=jdk.crypto.ec,jdk.naming.dns,jdk.zipfs

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

push=false stage_only=false offline=false no_maven=false tag_arg=
while (($#)); do
  case $1 in
    --push) push=true ;;
    --stage-only) stage_only=true ;;
    --offline) offline=true ;;
    --no-maven) no_maven=true ;;
    --tag) (($# >= 2)) || die "--tag needs a value"; tag_arg=$2; shift ;;
    --tag=*) tag_arg=${1#--tag=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build-images: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -1)
[[ -n $version ]] || die "cannot read the project version from pom.xml"
TAG=${CARP_IMAGE_TAG:-${version%-SNAPSHOT}}
if [[ -n $tag_arg ]]; then TAG=$tag_arg; fi
[[ $TAG =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid image tag '$TAG'"

if $offline && [[ -z ${CARP_IMAGE_PLATFORM:-} ]]; then
  PLATFORM=linux/$(dpkg --print-architecture)   # the root filesystem is made for this machine's architecture
else
  PLATFORM=${CARP_IMAGE_PLATFORM:-linux/amd64}
fi
case $PLATFORM in
  linux/amd64) jna_arch=linux-x86-64 ;;
  linux/arm64) jna_arch=linux-aarch64 ;;
  *) die "CARP_IMAGE_PLATFORM=$PLATFORM: linux/amd64 or linux/arm64" ;;
esac

engine=${CONTAINER_ENGINE:-}
if $offline && ! $stage_only; then
  # podman because it imports a root filesystem tarball and builds without a daemon; docker is not needed.
  [[ -z $engine || $engine == podman ]] || die "--offline builds with podman (CONTAINER_ENGINE=$engine)"
  engine=podman
  [[ $(id -u) == 0 ]] || die "--offline needs root (mmdebstrap, podman's storage)"
  for tool in podman mmdebstrap; do
    command -v "$tool" >/dev/null || die "--offline needs $tool (scripts/install-deps.sh installs it)"
  done
  [[ $PLATFORM == "linux/$(dpkg --print-architecture)" ]] \
    || die "--offline builds for this machine's architecture only, not $PLATFORM"
fi
if ! $stage_only && [[ -z $engine ]]; then
  if command -v podman >/dev/null; then engine=podman
  elif command -v docker >/dev/null; then engine=docker
  else die "neither podman nor docker is installed (set CONTAINER_ENGINE, or use --stage-only to prepare the build contexts)"; fi
fi

JAVA_HOME=$(scripts/java-home.sh) || die "a JDK 25 is needed (scripts/java-home.sh)"
export JAVA_HOME

# One build at a time: the contexts in target/images and podman's tags are shared.
mkdir -p "$ROOT/target"
exec 9>"$ROOT/target/.build-images.lock"
flock 9

if $no_maven; then
  for jar in operator/target/carp-operator.jar agent/target/carp-agent.jar; do
    [[ -f $jar && -d $(dirname "$jar")/lib ]] \
      || die "--no-maven: no $jar and its lib/ (build them: ./mvnw -DskipTests package -pl operator,agent -am)"
  done
else
  log "building the jars (./mvnw package, tests skipped)"
  ./mvnw -B -q -DskipTests package -pl operator,agent -am >&2
fi

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

if $offline; then
  cache="$CACHE_ROOT/images"
  base_cache="$cache/base"
  mkdir -p "$base_cache"
  # The cache and the podman tags are shared by every checkout: one offline build at a time.
  exec 8>"$cache/.lock"
  flock 8
  sha() { sha256sum | cut -c1-16; }

  # podman with a configuration of our own (never /etc): without CAP_SYS_RESOURCE (this machine withholds it) runc
  # cannot give a container limits above podman's own, and podman's defaults (1048576) are above them: "error
  # setting rlimit type 7". podman keeps its nofile at most 1048576 and lowers its nproc to kernel.pid_max.
  # cgroupfs and a file event log need neither systemd nor journald.
  nofile=$(ulimit -Hn) nproc=$(ulimit -Hu) pid_max=$(cat /proc/sys/kernel/pid_max)
  if [[ $nofile == unlimited ]] || ((nofile > 1048576)); then nofile=1048576; fi
  if [[ $nproc == unlimited ]] || ((nproc > pid_max)); then nproc=$pid_max; fi
  cat >"$cache/containers.conf" <<EOF
# Written by scripts/build-images.sh --offline (CONTAINERS_CONF): limits no higher than podman's own.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  export CONTAINERS_CONF="$cache/containers.conf"

  # --- 1. the Debian root filesystem, from this machine's own mirror ----------------------------------------------
  # shellcheck disable=SC1091
  . /etc/os-release
  [[ ${ID:-} == debian && -n ${VERSION_CODENAME:-} ]] \
    || die "--offline makes a Debian root filesystem from this machine's Debian mirror; this is ${PRETTY_NAME:-unknown}"
  codename=$VERSION_CODENAME
  # The apt sources of this machine for its release and its -updates and -security suites, as one-line entries
  # (deb822 .sources files too); other repositories on the machine are left out.
  debian_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f $f ]] || continue
      awk '{ sub(/#.*/, "") } $1 == "deb" {
        opts = ""; i = 2
        if ($2 ~ /^\[/) { while (i <= NF) { opts = opts (opts == "" ? "" : " ") $i; if ($(i++) ~ /\]$/) break } }
        line = "deb" (opts == "" ? "" : " " opts) " " $i " " $(i + 1)
        for (j = i + 2; j <= NF; j++) line = line " " $j
        print $(i + 1) "\t" line }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f $f ]] || continue
      awk 'function flush(   n, m, u, s, uris, suites, opt) {
             if (f["types"] ~ /(^| )deb( |$)/ && tolower(f["enabled"]) != "no" && f["uris"] != "" \
                 && f["suites"] != "") {
               opt = (f["signed-by"] ~ /^\/[^ ]*$/) ? "[signed-by=" f["signed-by"] "] " : ""
               n = split(f["uris"], uris, " "); m = split(f["suites"], suites, " ")
               for (u = 1; u <= n; u++) for (s = 1; s <= m; s++)
                 print suites[s] "\t" "deb " opt uris[u] " " suites[s] " " f["components"]
             }
             delete f; key = ""
           }
           /^#/ { next }
           /^[ \t]*$/ { flush(); next }
           /^[ \t]/ { if (key != "") { sub(/^[ \t]+/, ""); f[key] = f[key] " " $0 }; next }
           { key = tolower(substr($0, 1, index($0, ":") - 1)); v = substr($0, index($0, ":") + 1)
             gsub(/^[ \t]+|[ \t]+$/, "", v); f[key] = v }
           END { flush() }' "$f"
    done
  }
  mapfile -t mirrors < <(debian_sources | awk -F'\t' -v c="$codename" \
    '$1 == c || $1 == c "-updates" || $1 == c "-security" { if (!seen[$2]++) print $2 }')
  ((${#mirrors[@]})) || die "no apt source for Debian $codename in /etc/apt/sources.list{,.d/*.list,.d/*.sources}"

  packages=("${AGENT_PACKAGES[@]}" ca-certificates)
  # essential + our packages (no apt: the images never install anything at run time); no man pages, docs (but
  # the copyrights) or translations; the merged-/usr hook keeps the usrmerge package (and perl) out. The hook's
  # "$1" is the root filesystem, expanded by mmdebstrap.
  # shellcheck disable=SC2016
  mm_args=(--variant=essential --architecture="$(dpkg --print-architecture)"
    --include="$(IFS=,; echo "${packages[*]}")"
    --hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*')
  rootfs_key=$(printf '%s\n' "$codename" "${mm_args[@]}" "${mirrors[@]}" | sha)
  rootfs="$base_cache/rootfs-$rootfs_key.tar"
  if [[ ! -f $rootfs || ${CARP_REBUILD_BASE:-} == 1 ]]; then
    log "root filesystem: Debian $codename ($(IFS=' '; echo "${packages[*]}")) with mmdebstrap from ${mirrors[0]}"
    part="$base_cache/rootfs-$rootfs_key.part.tar"
    rm -f "$part"
    mmdebstrap --quiet --format=tar "${mm_args[@]}" "$codename" "$part" "${mirrors[@]}" >&2 \
      || die "mmdebstrap failed (is the mirror reachable?)"
    sha256sum "$part" | cut -c1-64 >"$rootfs.sha256"
    mv "$part" "$rootfs"
    find "$base_cache" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$rootfs_key.*" -delete
  else
    log "root filesystem: cached ($rootfs)"
  fi

  # --- 2. the Java runtime: the modules both images use (jdeps), linked from the JDK ----------------------------
  jdk_id=$(sha <"$JAVA_HOME/release")
  jars_key=$( { echo "$jdk_id"; cat operator/target/carp-operator.jar operator/target/lib/*.jar \
                agent/target/carp-agent.jar agent/target/lib/*.jar; } | sha)
  modules_file="$base_cache/modules-$jars_key.txt"
  if [[ ! -s $modules_file ]]; then
    log "jdeps: the JDK modules of the operator and the agent"
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    jdeps_of() { # $1: the application jar, $2: its lib/ directory
      local targets=("$ROOT/$1") j d
      for j in "$ROOT/$2"/*.jar; do
        # A modular jar is analysed unpacked, without its module-info: jdeps resolves module descriptors and stops
        # at one that cannot be (pcap4j-core requires "slf4j.api", a name slf4j 2 no longer has).
        if grep -qa 'module-info\.class' "$j"; then
          d="$scratch/$(basename "$j" .jar)-$RANDOM"
          mkdir -p "$d" && (cd "$d" && "$JAVA_HOME/bin/jar" xf "$j") && find "$d" -name module-info.class -delete
          targets+=("$d")
        else
          targets+=("$j")
        fi
      done
      "$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 "${targets[@]}" \
        2>"$scratch/jdeps.err" || { cat "$scratch/jdeps.err" >&2; die "jdeps failed on $1"; }
    }
    { jdeps_of operator/target/carp-operator.jar operator/target/lib | tail -1
      jdeps_of agent/target/carp-agent.jar agent/target/lib | tail -1; } \
      | tr ',' '\n' | sort -u | paste -sd, >"$modules_file.tmp"
    mv "$modules_file.tmp" "$modules_file"
    rm -rf "$scratch"; trap - EXIT
  fi
  # Lists of jars not built for a month go (a few bytes each; kept so checkouts of different jars do not redo jdeps).
  touch "$modules_file"
  find "$base_cache" -maxdepth 1 -name 'modules-*.txt' -mtime +30 -delete
  modules="$(cat "$modules_file"),$EXTRA_MODULES"
  log "Java modules: $modules"

  # No --generate-cds-archive: it adds 29 MB for about 20 ms less start-up (measured on the agent's --help).
  jlink_opts=(--strip-debug --no-header-files --no-man-pages)
  jre_key=$(printf '%s\n' "$jdk_id" "$modules" "${jlink_opts[@]}" | sha)
  jre="$base_cache/jre-$jre_key"
  if [[ ! -x $jre/bin/java ]]; then
    log "jlink: a Java runtime of these modules"
    rm -rf "$jre.tmp"
    "$JAVA_HOME/bin/jlink" --add-modules "$modules" "${jlink_opts[@]}" --output "$jre.tmp" >&2
    mv "$jre.tmp" "$jre"
    find "$base_cache" -maxdepth 1 -name 'jre-*' ! -name "jre-$jre_key" -exec rm -rf {} +
  fi

  # --- 3. the base image: root filesystem + /opt/java ---------------------------------------------------------------
  base_env=("PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "JAVA_HOME=/opt/java"
            "LANG=C.UTF-8")
  base_ref="localhost/carp-operator/base:$(printf '%s\n' "$(cat "$rootfs.sha256")" "$jre_key" "${base_env[@]}" | sha)"
  if ! podman image exists "$base_ref"; then
    log "base image $base_ref"
    base_tar="$base_cache/base.tar.tmp"
    cp "$rootfs" "$base_tar"
    tar -rf "$base_tar" --owner=0 --group=0 --numeric-owner --transform="s,^${jre##*/},./opt/java," \
      -C "$base_cache" "${jre##*/}"
    changes=()
    for e in "${base_env[@]}"; do changes+=(--change "ENV $e"); done
    podman import "${changes[@]}" --message "Debian $codename, ${packages[*]}, Java runtime in /opt/java (jlink)" \
      "$base_tar" "$base_ref" >/dev/null
    rm -f "$base_tar"
    # Earlier bases go (the images are rebuilt on this one); one that images still use is only untagged.
    for old in $(podman images --format '{{.Repository}}:{{.Tag}}' localhost/carp-operator/base); do
      [[ $old == "$base_ref" ]] || podman rmi "$old" >/dev/null 2>&1 || podman untag "$old" 2>/dev/null || true
    done
  else
    log "base image: $base_ref (cached)"
  fi

  # --- 4. the pause image: a static Go program on an empty base ----------------------------------------------------
  command -v "${GO:-go}" >/dev/null || die "--offline needs Go for the pause image (images/pause); set GO=/path/to/go"
  mkdir -p "$stage/pause"
  cp images/pause/Containerfile "$stage/pause/"
  (cd images/pause && CGO_ENABLED=0 GOOS=linux GOARCH=$(dpkg --print-architecture) GOTOOLCHAIN=local GOPROXY=off \
     GOFLAGS='' GOWORK=off "${GO:-go}" build -trimpath -buildvcs=false \
     -ldflags "-s -w -X main.version=${PAUSE_REF##*:}" -o "$stage/pause/pause" .) \
    || die "go build of images/pause failed"
  mkdir -p "$stage/lab-echo"
  cp images/lab-echo/Containerfile "$stage/lab-echo/"
  (cd images/lab-echo && CGO_ENABLED=0 GOOS=linux GOARCH=$(dpkg --print-architecture) GOTOOLCHAIN=local GOPROXY=off \
     GOFLAGS='' GOWORK=off "${GO:-go}" build -trimpath -buildvcs=false \
     -ldflags "-s -w -X main.version=${ECHO_REF##*:}" -o "$stage/lab-echo/lab-echo" .) \
    || die "go build of images/lab-echo failed"
fi

built=()
for image in operator agent; do
  ref="$REGISTRY/carp-$image:$TAG"
  if $offline; then
    # --network none: no network in the build (and podman's default network would add firewall rules on the host)
    args=(--network none --pull=never --build-arg "JRE_IMAGE=$base_ref")
    if [[ $image == agent ]]; then args+=(--build-arg "AGENT_PACKAGES=${AGENT_PACKAGES[*]}"); fi
  else
    args=(--build-arg "JRE_IMAGE=$JRE_IMAGE")
  fi
  log "building $ref ($PLATFORM) with $engine"
  old_id=$("$engine" image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
  "$engine" build --platform "$PLATFORM" "${args[@]}" --build-arg "VERSION=$TAG" \
    -t "$ref" -f "$stage/$image/Containerfile" "$stage/$image" >&2
  # The image this tag named before is removed when nothing else uses it (offline rebuilds would pile them up).
  if $offline && [[ -n $old_id && $old_id != "$("$engine" image inspect --format '{{.Id}}' "$ref")" ]]; then
    "$engine" rmi "$old_id" >/dev/null 2>&1 || true
  fi
  built+=("$ref")
  if $push; then log "pushing $ref"; "$engine" push "$ref" >&2; fi
done

if ! $offline; then
  log "done. Install the chart with these images:"
  echo "  helm install carp helm/carp-operator -n carp-system --create-namespace \\"
  echo "    --set operator.image.repository=$REGISTRY/carp-operator --set operator.image.tag=$TAG \\"
  echo "    --set agent.image.repository=$REGISTRY/carp-agent --set agent.image.tag=$TAG"
  exit 0
fi

log "building $PAUSE_REF"
podman build --network none --pull=never --platform "$PLATFORM" --build-arg "VERSION=${PAUSE_REF##*:}" \
  -t "$PAUSE_REF" -f "$stage/pause/Containerfile" "$stage/pause" >&2
log "building $ECHO_REF"
podman build --network none --pull=never --platform "$PLATFORM" --build-arg "VERSION=${ECHO_REF##*:}" \
  -t "$ECHO_REF" -f "$stage/lab-echo/Containerfile" "$stage/lab-echo" >&2

# --- 5. the archives: docker-archive keeps each image's name for `ctr images import` -----------------------------
out="$cache/$TAG"
mkdir -p "$out"
save() { # $1: image reference, $2: archive name; skipped when the archive already holds this image under this name
  local id stamp="$out/.$2.id"
  id="$(podman image inspect --format '{{.Id}}' "$1") $1"
  if [[ -f $out/$2 && -f $stamp && $(cat "$stamp") == "$id" ]]; then return; fi
  log "saving $1 to $out/$2"
  rm -f "$out/$2.tmp"
  podman save --format docker-archive -o "$out/$2.tmp" "$1" >&2
  mv "$out/$2.tmp" "$out/$2"
  echo "$id" >"$stamp"
}
save "${built[0]}" carp-operator.tar
save "${built[1]}" carp-agent.tar
save "$PAUSE_REF" pause.tar
save "$ECHO_REF" lab-echo.tar
cat >"$out/images.env.tmp" <<EOF
# Written by scripts/build-images.sh --offline. Load on each node: ctr -n k8s.io images import FILE.tar
OPERATOR_IMAGE=${built[0]}
AGENT_IMAGE=${built[1]}
PAUSE_IMAGE=$PAUSE_REF
ECHO_IMAGE=$ECHO_REF
OPERATOR_ARCHIVE=carp-operator.tar
AGENT_ARCHIVE=carp-agent.tar
PAUSE_ARCHIVE=pause.tar
ECHO_ARCHIVE=lab-echo.tar
BASE_IMAGE=$base_ref
EOF
mv "$out/images.env.tmp" "$out/images.env"
log "done in ${SECONDS} s: $(cd "$out" && du -h carp-operator.tar carp-agent.tar pause.tar lab-echo.tar | tr '\t\n' ' ')"
log "load them on each node: ctr -n k8s.io images import FILE.tar; helm: image.pullPolicy IfNotPresent or Never"
echo "$out"
