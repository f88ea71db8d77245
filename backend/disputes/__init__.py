""""I did not receive this": a citizen's case about a covered service, the Fund's review of it,
and what the statistics count of cases (``docs/disputes.md``)."""
