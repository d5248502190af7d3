"""cwparity: prove that Prometheus + Grafana see what CloudWatch saw, before you cut over.

Kept free of heavy imports on purpose: Locust must be able to import this package after it has
monkey-patched the process with gevent, and the pytest plugin loads it in every pytest run.
"""

__version__ = "0.1.0"
