"""Where the project's own files are: the harness runs from a checkout (pip install -e .)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS_DIR = ROOT / "fixtures" / "apps"
CONFIGS_DIR = ROOT / "fixtures" / "configs"
LOCUSTFILE = ROOT / "load" / "locustfile.py"
SUITES_DIR = ROOT / "suites"
