"""Checks of the monitoring host (testinfra), Grafana (HTTP API) and their security."""
