"""Operating the system: what an operator runs beside the API and the worker (backups)."""
