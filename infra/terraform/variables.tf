variable "namespace" {
  description = "Kubernetes namespace for every agentshop release"
  type        = string
  default     = "agentshop"
}

variable "image_repository" {
  description = "Container image with the agentshop services"
  type        = string
  default     = "ghcr.io/agentshop/agentshop"
}

variable "image_tag" {
  description = "Image tag to deploy (images are rebuilt, never patched)"
  type        = string
}

variable "replicas" {
  description = "Minimum replicas per service, by service name; services not listed get default_replicas"
  type        = map(number)
  default     = {}
}

variable "default_replicas" {
  description = "Minimum replicas of a service not listed in replicas"
  type        = number
  default     = 2
}

variable "max_replicas" {
  description = "Autoscaling ceiling per service (the roadmap's 10x surge)"
  type        = number
  default     = 20
}

variable "database_url" {
  description = "PostgreSQL server URL; each service uses its own database on it"
  type        = string
  sensitive   = true
}

variable "kafka_bootstrap_servers" {
  description = "Kafka bootstrap servers (external cluster)"
  type        = string
}

variable "kafka_security_protocol" {
  description = "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
  type        = string
  default     = "SASL_SSL"
}

variable "kafka_sasl_mechanism" {
  description = "SASL mechanism, e.g. SCRAM-SHA-512"
  type        = string
  default     = "SCRAM-SHA-512"
}

variable "kafka_sasl_username" {
  description = "SASL user name (the broker must authenticate its clients)"
  type        = string
  default     = "agentshop"
}

variable "kafka_sasl_password" {
  description = "SASL password"
  type        = string
  default     = ""
  sensitive   = true
}

variable "jwt_secret" {
  description = "Signing secret for user tokens"
  type        = string
  sensitive   = true
}

variable "service_token" {
  description = "The token internal service APIs require (32+ characters), e.g. openssl rand -hex 32"
  type        = string
  sensitive   = true
}

variable "mesh_provider" {
  description = "none, linkerd or istio: mTLS between services by sidecar injection"
  type        = string
  default     = "linkerd"
}

variable "llm_model" {
  description = "Model the shopping assistant uses (empty: the offline parser)"
  type        = string
  default     = ""
}

variable "openai_base_url" {
  description = "OpenAI-compatible endpoint for the assistant (empty: the provider's default)"
  type        = string
  default     = ""
}

variable "openai_api_key" {
  description = "API key of that endpoint (empty for none)"
  type        = string
  default     = ""
  sensitive   = true
}
