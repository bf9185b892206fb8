"""cart: one active cart per user, with the prices the user saw."""
