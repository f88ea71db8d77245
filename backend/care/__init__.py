"""Care the Fund paid for: providers, the service catalogue, and a person's covered services."""
