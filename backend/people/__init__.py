"""People: profiles, category memberships, and the person-facing GraphQL types."""
