"""Ingestion: integrators send contribution and service-payment records; each batch is
checked record by record, stored set-wise in one transaction with its events and the
statuses it changes, and answered record by record."""
