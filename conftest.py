# The cwparity pytest plugin is registered through the `pytest11` entry point in pyproject.toml;
# naming it here as well keeps `pytest suites` working from a plain checkout that is not installed.
pytest_plugins = ["cwparity.pytest_plugin"]
