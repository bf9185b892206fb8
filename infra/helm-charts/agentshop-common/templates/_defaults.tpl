{{/* Defaults every service chart starts from; override any key in its values.yaml. */}}
{{- define "agentshop.defaults" -}}
image:
  repository: ghcr.io/agentshop/agentshop
  tag: "0.1.0"
  pullPolicy: IfNotPresent
imagePullSecrets: []
replicas: 2
resources:
  requests:
    cpu: 100m
    memory: 192Mi
  limits:
    cpu: "1"
    memory: 512Mi
# Sized for the roadmap's 10x surge: 2 pods at base load, up to 20, scaling up 3x per 30 s.
autoscaling:
  enabled: true
  minReplicas: 2
  maxReplicas: 20
  targetCPUUtilizationPercentage: 60
pdb:
  minAvailable: 1
secretName: agentshop-secrets  # keys: DATABASE_URL, AGENTSHOP_JWT_SECRET[, KAFKA_SASL_PASSWORD]
secretEnv: true  # false: the pod gets none of the Secret's keys (the web UI needs none)
probes:
  readinessPath: /readyz
  livenessPath: /healthz
config:
  env: prod
  logLevel: INFO
  extra: {}
serviceUrls: {}
kafka:
  bootstrapServers: kafka:9092
  securityProtocol: PLAINTEXT  # SSL, SASL_PLAINTEXT or SASL_SSL
  saslMechanism: ""            # e.g. SCRAM-SHA-512
  saslUsername: ""
  caSecret: ""                 # a Secret with ca.crt, mounted for TLS
  topicPartitions: 6
  replicationFactor: 3
migrations:
  enabled: true
networkPolicy:
  enabled: true
  allowFromNamespaces: [ingress-nginx, monitoring]  # the ingress controller and Prometheus
mesh:
  provider: none  # none | linkerd | istio: mTLS between services via sidecar injection
podAnnotations: {}
ingress:
  enabled: false
  className: nginx
  host: ""
  path: /
  tlsSecret: ""
  annotations: {}
{{- end -}}
