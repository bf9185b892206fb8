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
secretName: agentshop-secrets  # keys: DATABASE_URL, AGENTSHOP_JWT_SECRET, AGENTSHOP_SERVICE_TOKEN, KAFKA_SASL_PASSWORD
secretEnv: true  # false: the pod gets none of the Secret's keys (the web UI needs none)
probes:
  readinessPath: /readyz
  livenessPath: /healthz
config:
  env: prod
  logLevel: INFO
  extra: {}
serviceUrls: {}
# The broker must authenticate its clients (docs/adr/0022): SASL, with the password in the
# Secret. A PLAINTEXT or SSL broker refuses to render unless allowUnauthenticated is set.
kafka:
  bootstrapServers: kafka:9092
  securityProtocol: SASL_SSL   # or SASL_PLAINTEXT inside a mesh that encrypts
  saslMechanism: SCRAM-SHA-512
  saslUsername: agentshop
  allowUnauthenticated: false
  caSecret: ""                 # a Secret with ca.crt, mounted for TLS
  topicPartitions: 6
  replicationFactor: 3
migrations:
  enabled: true
# Who may open a connection to the pods: internal services only the platform's own service
# pods (and Prometheus); public ones (gateway-bff, the web UI) also the ingress controller
# and the web UI's pods. Internal APIs also require the service token (docs/adr/0022).
networkPolicy:
  enabled: true
  public: false
  platform: true  # the pods call internal services (false: the web UI)
  allowFromNamespaces: [monitoring]  # Prometheus
  publicFromNamespaces: [ingress-nginx]  # the ingress controller, for public charts
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
