#!/usr/bin/env bash
# Builds the real Kubernetes parts used by the tests and the lab from Go modules, at pinned versions, into a cache
# outside the repository. No prebuilt binaries are downloaded: only Go modules via the module proxy.
#   control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#   nodes:         kubelet, kube-proxy (each lab node runs them in its network namespace beside containerd)
#
#   scripts/build-control-plane.sh             # build what is missing, print the bin directory
#   scripts/build-control-plane.sh --print     # only print the bin directory it would use
#   scripts/build-control-plane.sh --oldest    # the oldest Kubernetes the chart claims: etcd and kube-apiserver only
#   scripts/build-control-plane.sh --oldest --print
#
# A cold build takes a while on a small machine (see docs/development.md); a warm cache returns at once.
set -euo pipefail

NEWEST_K8S_VERSION=v1.34.4   # k8s.io/kubernetes; its staging modules are pinned to v0.34.x by replace directives
OLDEST_K8S_VERSION=v1.31.14  # the oldest the chart's kubeVersion allows (CRD CEL: isCIDR/isIP/ip() need 1.31)
ETCD_VERSION=v3.6.16         # go.etcd.io/etcd/server/v3 (etcd's main package lives at the module root)
CACHE_ROOT=${CARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carp-operator}

print=false oldest=false
for a in "$@"; do
  case $a in
    --print) print=true ;;
    --oldest) oldest=true ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-control-plane: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
if $oldest; then
  K8S_VERSION=$OLDEST_K8S_VERSION
  COMPONENTS=(kube-apiserver)
else
  K8S_VERSION=$NEWEST_K8S_VERSION
  COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
fi
BIN_DIR="$CACHE_ROOT/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin"

if $print; then echo "$BIN_DIR"; exit 0; fi

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
  # A tools file importing every component's app package makes `go mod tidy` resolve all their dependencies.
  local tools
  tools=$(printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n')
  if ! $oldest; then
    tools+=$(printf '\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler/app"\n\t_ "k8s.io/kubernetes/cmd/kubelet/app"\n\t_ "k8s.io/kubernetes/cmd/kube-proxy/app"\n\t_ "k8s.io/kubectl/pkg/cmd"\n')
  fi
  tools+=$'\n)\n'
  if [[ ! -f "$mod/go.mod" ]]; then
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
  fi
  if [[ ! -f "$mod/go.sum" || "$(cat "$mod/tools.go" 2>/dev/null)" != "$tools" ]]; then
    printf '%s' "$tools" > "$mod/tools.go"
    (cd "$mod" && go mod tidy >&2)
  fi
  local c
  for c in "${COMPONENTS[@]}"; do
    [[ -x "$BIN_DIR/$c" ]] && continue
    log "building $c $K8S_VERSION (cold builds take minutes each on 2 cores)"
    local t0=$SECONDS
    (cd "$mod" && go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" -o "$BIN_DIR/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$BIN_DIR/$c.tmp" "$BIN_DIR/$c"
    log "built $c in $((SECONDS - t0)) s"
  done
}

build_etcd() {
  [[ -x "$BIN_DIR/etcd" ]] && return
  # One etcd build serves every Kubernetes version: copy it from a sibling directory when there is one.
  local other
  for other in "$CACHE_ROOT"/control-plane/k8s-*-etcd-"$ETCD_VERSION"/bin/etcd; do
    if [[ -x $other ]]; then cp "$other" "$BIN_DIR/etcd"; return; fi
  done
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
log "Kubernetes $K8S_VERSION ready in $BIN_DIR ($((SECONDS - t_start)) s)"
echo "$BIN_DIR"
