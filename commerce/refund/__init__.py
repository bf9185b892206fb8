"""refund: refunds of completed orders, flowing to payment-gateway over Kafka."""
