"""The Locust traffic profile (``locustfile.py``), installed as ``cwparity.locustfiles``."""
