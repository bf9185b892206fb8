# Deploys every agentshop service chart into one namespace. The service list comes
# from services.tf.json (generated from commerce/services.py by infra/generate.py).

resource "kubernetes_namespace_v1" "agentshop" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "agentshop"
      "linkerd.io/inject"         = var.mesh_provider == "linkerd" ? "enabled" : "disabled"
    }
  }
}

resource "kubernetes_secret_v1" "agentshop" {
  metadata {
    name      = "agentshop-secrets"
    namespace = kubernetes_namespace_v1.agentshop.metadata[0].name
  }
  data = {
    DATABASE_URL            = var.database_url
    AGENTSHOP_JWT_SECRET    = var.jwt_secret
    AGENTSHOP_SERVICE_TOKEN = var.service_token
    KAFKA_SASL_PASSWORD     = var.kafka_sasl_password
    OPENAI_API_KEY          = var.openai_api_key
  }
}

resource "helm_release" "service" {
  for_each = local.services

  name      = each.key
  namespace = kubernetes_namespace_v1.agentshop.metadata[0].name
  chart     = "${path.module}/../helm-charts/${each.key}"
  atomic    = true
  timeout   = 600

  values = concat([yamlencode({
    image = {
      repository = var.image_repository
      tag        = var.image_tag
    }
    autoscaling = {
      enabled     = true
      minReplicas = lookup(var.replicas, each.key, var.default_replicas)
      maxReplicas = var.max_replicas
    }
    secretName = kubernetes_secret_v1.agentshop.metadata[0].name
    kafka = {
      bootstrapServers = var.kafka_bootstrap_servers
      securityProtocol = var.kafka_security_protocol
      saslMechanism    = var.kafka_sasl_username == "" ? "" : var.kafka_sasl_mechanism
      saslUsername     = var.kafka_sasl_username
    }
    mesh = {
      provider = var.mesh_provider
    }
  })], each.key == "gateway-bff" ? [local.assistant_values] : [])
}

# The assistant runs in gateway-bff; only that release gets its model settings
# (an empty model keeps the offline parser).
locals {
  assistant_values = yamlencode({
    config = {
      extra = {
        AGENTSHOP_LLM_MODEL = var.llm_model
        OPENAI_BASE_URL     = var.openai_base_url
      }
    }
  })
}
