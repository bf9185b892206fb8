output "namespace" {
  description = "Namespace the services run in"
  value       = kubernetes_namespace_v1.agentshop.metadata[0].name
}

output "releases" {
  description = "Helm release of each service"
  value       = { for name, release in helm_release.service : name => release.status }
}
