"""Authentication, sessions and national identifiers."""
