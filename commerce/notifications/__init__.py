"""email-service, sms-service and push-service: one codebase, one database each."""
