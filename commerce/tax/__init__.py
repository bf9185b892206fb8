"""tax-calculation: tax rates by country, region and tax class, and tax quotes."""
