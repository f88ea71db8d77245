"""Deterministic demo country: name pools, service catalogue, organisations, generator."""
