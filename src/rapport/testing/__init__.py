"""Shared test support: factories, API clients and the suites every app reuses."""
