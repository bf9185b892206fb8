{{/* Names and labels. */}}
{{- define "agentshop.name" -}}{{ .Values.service }}{{- end -}}
{{- define "agentshop.labels" -}}
app.kubernetes.io/name: {{ .Values.service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: agentshop
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "agentshop.selector" -}}
app.kubernetes.io/name: {{ .Values.service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "agentshop.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end -}}

{{/* Environment shared by the service and its migration job. */}}
{{- define "agentshop.env" -}}
- name: PORT
  value: {{ .Values.port | quote }}
{{- if .Values.secretEnv }}
{{- range $key := list "DATABASE_URL" "AGENTSHOP_JWT_SECRET" "AGENTSHOP_SERVICE_TOKEN" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secretName }}
      key: {{ $key }}
{{- end }}
{{- if .Values.kafka.saslUsername }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secretName }}
      key: KAFKA_SASL_PASSWORD
{{- end }}
{{- end }}
{{- end -}}

{{- define "agentshop.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "agentshop.podAnnotations" -}}
checksum/config: {{ include "agentshop.configmap" . | sha256sum }}
{{- if eq .Values.mesh.provider "linkerd" }}
linkerd.io/inject: enabled
{{- else if eq .Values.mesh.provider "istio" }}
sidecar.istio.io/inject: "true"
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Policy-scanner findings accepted on purpose, each with its reason. */}}
{{- define "agentshop.policyExceptions" -}}
checkov.io/skip1: CKV_K8S_43=Images are immutable release tags set by CI; set image.tag to a digest where one is required
checkov.io/skip2: CKV_K8S_35=Settings are read from environment variables (pydantic-settings); the Secret is referenced, never inlined
{{- end -}}

{{- define "agentshop.configmap" -}}
{{- if and (not (hasPrefix "SASL_" .Values.kafka.securityProtocol)) (not .Values.kafka.allowUnauthenticated) }}
{{- fail "kafka.securityProtocol must be SASL_SSL or SASL_PLAINTEXT: the broker must authenticate its clients (set kafka.allowUnauthenticated=true to override)" }}
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "agentshop.name" . }}-config
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
data:
  AGENTSHOP_ENV: {{ .Values.config.env | quote }}
  AGENTSHOP_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
  AGENTSHOP_LOG_FORMAT: "json"
  KAFKA_BOOTSTRAP_SERVERS: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
  KAFKA_SECURITY_PROTOCOL: {{ .Values.kafka.securityProtocol | quote }}
  KAFKA_TOPIC_PARTITIONS: {{ .Values.kafka.topicPartitions | quote }}
  KAFKA_REPLICATION_FACTOR: {{ .Values.kafka.replicationFactor | quote }}
  {{- with .Values.kafka.saslMechanism }}
  KAFKA_SASL_MECHANISM: {{ . | quote }}
  {{- end }}
  {{- with .Values.kafka.saslUsername }}
  KAFKA_SASL_USERNAME: {{ . | quote }}
  {{- end }}
  {{- if .Values.kafka.caSecret }}
  KAFKA_SSL_CAFILE: "/etc/agentshop/kafka-ca/ca.crt"
  {{- end }}
  {{- range $key, $value := .Values.config.extra }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
  {{- range $name, $url := .Values.serviceUrls }}
  {{ $name }}: {{ $url | quote }}
  {{- end }}
{{- end -}}

{{/*
Everything one service needs. A service chart's values are merged over the defaults
in "agentshop.defaults", so its values.yaml holds only what differs.
*/}}
{{- define "agentshop.service" -}}
{{- $values := mergeOverwrite (fromYaml (include "agentshop.defaults" .)) (deepCopy .Values) -}}
{{- $ctx := dict "Values" $values "Release" .Release "Chart" .Chart "Capabilities" .Capabilities "Template" .Template -}}
{{- include "agentshop.resources" $ctx -}}
{{- end -}}

{{- define "agentshop.resources" -}}
{{ include "agentshop.configmap" . }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "agentshop.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
  annotations:
    {{- include "agentshop.policyExceptions" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "agentshop.selector" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "agentshop.selector" . | nindent 8 }}
        app.kubernetes.io/part-of: agentshop
        agentshop.io/platform: {{ .Values.networkPolicy.platform | quote }}
      annotations:
        {{- include "agentshop.podAnnotations" . | nindent 8 }}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ include "agentshop.name" . }}
          image: {{ include "agentshop.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args: ["serve", {{ .Values.service | quote }}, "--host", "0.0.0.0", "--port", {{ .Values.port | quote }}]
          ports:
            - name: http
              containerPort: {{ .Values.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "agentshop.name" . }}-config
          env:
            {{- include "agentshop.env" . | nindent 12 }}
          readinessProbe:
            httpGet:
              path: {{ .Values.probes.readinessPath }}
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: {{ .Values.probes.livenessPath }}
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "agentshop.securityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .Values.kafka.caSecret }}
            - name: kafka-ca
              mountPath: /etc/agentshop/kafka-ca
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if .Values.kafka.caSecret }}
        - name: kafka-ca
          secret:
            secretName: {{ .Values.kafka.caSecret }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "agentshop.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "agentshop.selector" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
      protocol: TCP
{{- if .Values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "agentshop.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "agentshop.name" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - type: Percent
          value: 200
          periodSeconds: 30
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "agentshop.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .Values.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "agentshop.selector" . | nindent 6 }}
{{- if .Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "agentshop.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "agentshop.selector" . | nindent 6 }}
  policyTypes: ["Ingress"]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              {{- if .Values.networkPolicy.public }}
              app.kubernetes.io/part-of: agentshop
              {{- else }}
              agentshop.io/platform: "true"
              {{- end }}
        {{- range .Values.networkPolicy.allowFromNamespaces }}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ . }}
        {{- end }}
        {{- if .Values.networkPolicy.public }}
        {{- range .Values.networkPolicy.publicFromNamespaces }}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ . }}
        {{- end }}
        {{- end }}
      ports:
        - port: http
          protocol: TCP
{{- end }}
{{- if .Values.migrations.enabled }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "agentshop.name" . }}-migrate
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
  annotations:
    {{- include "agentshop.policyExceptions" . | nindent 4 }}
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 3
  ttlSecondsAfterFinished: 600
  template:
    metadata:
      labels:
        {{- include "agentshop.selector" . | nindent 8 }}
        app.kubernetes.io/component: migrate
    spec:
      restartPolicy: OnFailure
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: migrate
          image: {{ include "agentshop.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args: ["migrate", {{ .Values.service | quote }}]
          envFrom:
            - configMapRef:
                name: {{ include "agentshop.name" . }}-config
          env:
            {{- include "agentshop.env" . | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "agentshop.securityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end }}
{{- if .Values.ingress.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "agentshop.name" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "agentshop.labels" . | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  ingressClassName: {{ .Values.ingress.className }}
  {{- if .Values.ingress.tlsSecret }}
  tls:
    - hosts: [{{ .Values.ingress.host | quote }}]
      secretName: {{ .Values.ingress.tlsSecret }}
  {{- end }}
  rules:
    - {{- with .Values.ingress.host }}
      host: {{ . | quote }}
      {{- end }}
      http:
        paths:
          - path: {{ .Values.ingress.path }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "agentshop.name" . }}
                port:
                  number: {{ .Values.port }}
{{- end }}
{{- end -}}
