"""Benchmarks, run by ``make bench`` (never by ``make test``); each prints its own figures."""
