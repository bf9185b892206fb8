"""discount-engine: discount rules, coupons and their redemptions."""
