"""payment-gateway: a simulated payment provider with a ledger per payment."""
