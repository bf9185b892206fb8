"""catalog: products, variants and search (the roadmap's product-read)."""
