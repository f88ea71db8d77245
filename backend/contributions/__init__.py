"""Contributions: the citizen's receipts, the 12-month view, and yearly totals."""
