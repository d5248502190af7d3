"""Build glue that pyproject.toml cannot express: the design card's top-level folders ship inside
the package.

``suites/``, ``load/`` and ``fixtures/`` stay where the design card puts them (the source); the
wheel carries them as ``cwparity.suites``, ``cwparity.locustfiles`` and ``cwparity.fixtures``, and
an editable install maps the same names onto the checkout's folders. Every package under
``cwparity/`` is found by discovery and every file in the mapped folders is package data
(pyproject.toml), so a new suite, app or config ships without being listed here.
"""

from setuptools import find_namespace_packages, setup

# installed name -> source folder (`load` is not `cwparity.load`: that name is the load step)
SHIPPED = {
    "cwparity.suites": "suites",
    "cwparity.locustfiles": "load",
    "cwparity.fixtures": "fixtures",
}

setup(
    packages=find_namespace_packages(include=["cwparity", "cwparity.*"]) + list(SHIPPED),
    package_dir=SHIPPED,
)
