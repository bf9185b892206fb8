"""inventory: stock per SKU and all-or-nothing reservations for checkouts (the roadmap's inventory-write)."""
