"""checkout-orchestrator: the checkout saga."""
