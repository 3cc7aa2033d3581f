#!/usr/bin/env bash
# Copies the single sources into the chart: crds/ (generated from the API model) and deploy/rbac/ (least-privilege
# RBAC). The chart must be self-contained (helm package, Git-based deployers), so it carries copies;
# HelmChartTest fails when a copy differs from its source. Run this after ./carp crds or an RBAC change.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHART="$ROOT/helm/carp-operator"
rm -f "$CHART"/files/crds/*.yaml "$CHART"/files/rbac/*.yaml
cp "$ROOT"/crds/*.yaml "$CHART/files/crds/"
cp "$ROOT"/deploy/rbac/*.yaml "$CHART/files/rbac/"
echo "copied crds/ and deploy/rbac/ into ${CHART#"$ROOT"/}/files"
