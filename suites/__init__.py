"""The acceptance suites: thin pytest modules that read as the migration's criteria.

Installed as ``cwparity.suites``: ``pytest --pyargs cwparity.suites --cwparity-config FILE``.
"""
