{{/*
Names are fixed rather than derived from the release name: the ServiceAccounts and ClusterRoles come from
deploy/rbac (carp-operator, carp-agent) and the operator gives every agent DaemonSet the carp-agent
ServiceAccount, so there is one release per Kubernetes cluster.
*/}}

{{- define "carp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels of every object the chart creates; pass a dict with root and component. */}}
{{- define "carp.labels" -}}
helm.sh/chart: {{ include "carp.chart" .root }}
app.kubernetes.io/name: carp-operator
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: carp-operator
app.kubernetes.io/component: {{ .component }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The same labels as a dict, for objects built with fromYaml/toYaml. */}}
{{- define "carp.labelsDict" -}}
{{- include "carp.labels" . | fromYaml | toJson -}}
{{- end -}}

{{- define "carp.operatorSelectorLabels" -}}
app.kubernetes.io/name: carp-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* repository:tag (tag defaults to the appVersion) or repository@digest; pass a dict with image and root. */}}
{{- define "carp.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (.image.tag | default .root.Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* Fails with a clear message when a Prometheus Operator kind is enabled but its CRD is not served. */}}
{{- define "carp.requireMonitoringApi" -}}
{{- if not (.root.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" .kind)) -}}
{{- fail (printf "%s=true, but this cluster does not serve monitoring.coreos.com/v1 %s: install the Prometheus Operator's CRDs first, or leave it disabled (helm template: pass --api-versions monitoring.coreos.com/v1/%s)" .value .kind .kind) -}}
{{- end -}}
{{- end -}}

{{/* The agents' namespace: agent.namespace, or the release namespace when that is empty. */}}
{{- define "carp.agentNamespace" -}}
{{- .Values.agent.namespace | default .Release.Namespace -}}
{{- end -}}
