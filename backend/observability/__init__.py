"""Operating the service: what Prometheus scrapes (``metrics``, ``http``, ``worker``,
``server``); logs and traces live beside them.  ``docs/operations.md`` says what each metric
means and what to do when an alert fires."""
