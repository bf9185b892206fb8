"""gateway-bff: the one public REST API, for people's apps and for agents."""
