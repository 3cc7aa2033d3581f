#!/usr/bin/env bash
# Builds the real Kubernetes control plane used by the tests and the lab (kube-apiserver,
# kube-controller-manager, kubectl) and etcd from Go modules, at pinned versions, into a cache
# outside the repository. No prebuilt binaries are downloaded: only Go modules via the module proxy.
#
#   scripts/build-control-plane.sh            # build what is missing, print the bin directory
#   scripts/build-control-plane.sh --print    # only print the bin directory it would use
#
# A cold build takes a while on a small machine (see docs/development.md); a warm cache returns at once.
set -euo pipefail

K8S_VERSION=v1.34.4          # k8s.io/kubernetes; its staging modules are pinned to v0.34.4 by replace directives
ETCD_VERSION=v3.6.16         # go.etcd.io/etcd/server/v3 (etcd's main package lives at the module root)
CACHE_ROOT=${CARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carp-operator}
BIN_DIR="$CACHE_ROOT/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"
COMPONENTS=(kube-apiserver kube-controller-manager kubectl)

if [[ ${1:-} == --print ]]; then echo "$BIN_DIR"; exit 0; fi

log() { printf '[control-plane] %s\n' "$*" >&2; }
command -v go >/dev/null || { log "Go is not on PATH: install Go >= 1.21 (https://go.dev/dl or your distribution's backports) and retry"; exit 1; }
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [[ ! $go_minor =~ ^[0-9]+$ ]] || ((go_minor < 21)); then
  log "$(go env GOVERSION) is too old: Go >= 1.21 is needed (it fetches the 1.24+ toolchain Kubernetes $K8S_VERSION requires)"; exit 1
fi

# GOTOOLCHAIN=auto lets Go 1.21-1.23 download the toolchain the modules ask for, through the Go module proxy.
export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=auto
mkdir -p "$BIN_DIR"
work="$CACHE_ROOT/control-plane/src"

build_k8s() {
  local mod="$work/k8s-$K8S_VERSION"
  mkdir -p "$mod"
  if [[ ! -f "$mod/go.sum" ]]; then
    log "resolving k8s.io/kubernetes@$K8S_VERSION and its staging modules"
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    local staging_version="v0.${K8S_VERSION#v1.}"
    {
      echo "module carp-operator/control-plane-build"
      echo "go 1.24.0"
      echo "require k8s.io/kubernetes $K8S_VERSION"
      # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging;
      # a consumer must pin each of them to the matching published version.
      grep -E '=> \./staging/src/' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
    } > "$mod/go.mod.tmp"
    mv "$mod/go.mod.tmp" "$mod/go.mod"
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n\t_ "k8s.io/kubectl/pkg/cmd"\n)\n' > "$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  local c
  for c in "${COMPONENTS[@]}"; do
    [[ -x "$BIN_DIR/$c" ]] && continue
    local pkg="k8s.io/kubernetes/cmd/$c"
    log "building $c $K8S_VERSION (cold builds take several minutes each on 2 cores)"
    local t0=$SECONDS
    (cd "$mod" && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" -o "$BIN_DIR/$c.tmp" "$pkg")
    mv "$BIN_DIR/$c.tmp" "$BIN_DIR/$c"
    log "built $c in $((SECONDS - t0)) s"
  done
}

build_etcd() {
  [[ -x "$BIN_DIR/etcd" ]] && return
  local mod="$work/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [[ ! -f "$mod/go.sum" ]]; then
    printf 'module carp-operator/etcd-build\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$mod/go.mod"
    printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' > "$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  log "building etcd $ETCD_VERSION"
  local t0=$SECONDS
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
  log "built etcd in $((SECONDS - t0)) s"
}

t_start=$SECONDS
build_etcd
build_k8s
log "control plane ready in $BIN_DIR ($((SECONDS - t_start)) s)"
echo "$BIN_DIR"
