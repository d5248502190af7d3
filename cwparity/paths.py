"""Where cwparity's own files are, installed from a wheel or editable from a checkout alike.

The design card's folders ``suites/``, ``load/`` and ``fixtures/`` ship inside the package as
``cwparity.suites``, ``cwparity.locustfiles`` and ``cwparity.fixtures`` (setup.py maps them), so
they are found through the import system: in a wheel they are folders of the installed package,
in an editable install the checkout's own folders. A checkout that is not installed at all
(``PYTHONPATH=.``) still works: the folders beside the package are used.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def package_dir(name: str, source: str) -> Path:
    """The folder of a shipped package (a real folder: cwparity is never run from a zip)."""
    spec = find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if locations:
        return Path(locations[0])
    beside = Path(__file__).resolve().parent.parent / source
    if beside.is_dir():
        return beside
    raise ImportError(f"{name} is missing from this cwparity install: reinstall it (pip install .)")


SUITES_DIR = package_dir("cwparity.suites", "suites")
FIXTURES_DIR = package_dir("cwparity.fixtures", "fixtures")
APPS_DIR = FIXTURES_DIR / "apps"
CONFIGS_DIR = FIXTURES_DIR / "configs"
ALARMS_DIR = FIXTURES_DIR / "alarms"
HOSTS_DIR = FIXTURES_DIR / "hosts"
GRAFANA_STANDIN = FIXTURES_DIR / "grafana_standin.py"
LOCUSTFILE = package_dir("cwparity.locustfiles", "load") / "locustfile.py"
