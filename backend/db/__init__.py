"""Database plumbing: the embedded server, engines and sessions."""
