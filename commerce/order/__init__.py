"""order: orders, their lines, totals and status history."""
