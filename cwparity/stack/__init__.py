"""Processes the harness starts and always stops again: moto, Prometheus, the example apps."""
