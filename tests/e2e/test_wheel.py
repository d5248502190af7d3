"""cwparity as a user installs it: a wheel built from this checkout, installed into a fresh venv
outside it, and the demo run from yet another folder, with no checkout on ``sys.path``.

The wheel is built (``pip wheel``, build isolation, as ``pip install .`` builds it) from a copy of
the checkout's files, so no stale ``build/`` of the checkout can slip into it. cwparity itself comes
only from the wheel; its dependencies are this environment's (a ``.pth`` lists its site-packages,
whose own ``.pth`` files, an editable cwparity among them, are then not run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHECKOUT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".git", "build", "*.egg-info", "__pycache__", "reports", ".*cache", ".tox", ".venv")
NOT_SOURCE += (".hypothesis", ".benchmarks")
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")


def build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    wheels = tmp / "wheels"
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(wheels.glob("cwparity-*.whl"))


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    ours = [p for p in sys.path if p.endswith("-packages") and Path(p).is_dir()]
    ours = [p for p in ours if not Path(p).resolve().is_relative_to(CHECKOUT)]
    (site / "deps-of-the-test-environment.pth").write_text("\n".join(ours) + "\n")
    subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return venv


def clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


def test_the_wheel_installs_outside_the_checkout_and_runs_the_demo(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert {
        "cwparity/suites/test_parity.py",
        "cwparity/locustfiles/locustfile.py",
        "cwparity/fixtures/apps/dual_app.py",
        "cwparity/fixtures/configs/demo.yaml",
        "cwparity/report/templates/report.html.j2",
    } <= names
    assert not [n for n in names if "__pycache__" in n]
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    core = [line for line in requires if "extra ==" not in line]
    assert not [line for line in core if any(d in line for d in ("moto", "Flask", "flask"))]
    assert any("moto" in line and 'extra == "demo"' in line for line in requires)

    venv = fresh_venv(tmp_path, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(venv)
    where = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "import cwparity, sys, json; print(json.dumps([cwparity.__file__, sys.path]))",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    )
    module, path = json.loads(where.stdout)
    assert Path(module).is_relative_to(venv)
    assert not [p for p in path if p and Path(p).resolve().is_relative_to(CHECKOUT)]

    suites = subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pytest",
            "--pyargs",
            "cwparity.suites",
            "--collect-only",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert suites.returncode == 0, suites.stdout[-2000:]
    assert "test_hosts.py::test_live_config_passes_promtool_check_config" in suites.stdout

    reports = tmp_path / "reports"
    done = subprocess.run(
        [str(venv / "bin/cwparity"), "demo", "--duration", "8", "--out", str(reports)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "verdict PASS" in done.stdout
    report_line = next(line for line in done.stdout.splitlines() if "cwparity: report" in line)
    report = Path(report_line.split("report ", 1)[1])
    assert report.exists() and report.is_relative_to(reports)
    results = json.loads((report.parent / "results.json").read_text())
    assert results["verdict"] == "pass" and results["summary"]["pass"] > 0
    assert (report.parent / "junit.xml").exists()
    # coverage of every route either side saw, /metrics ignored and said so; the cost estimate
    # (the wheel's price table) with every figure's origin, in results.json and the report
    checks = {c["id"]: c["status"] for c in results["checks"]}
    assert checks["coverage[GET /]"] == "pass" and checks["coverage[GET /metrics]"] == "skip"
    cost = results["run"]["cost"]
    assert cost["estimate"] is True and cost["price_table"]["region"] == "us-east-1"
    assert all(
        item["source"] for item in cost["cloudwatch"]["lines"] + cost["prometheus"]["figures"]
    )
    assert "Cost and capacity — an estimate" in report.read_text()
    # the suites that judged it are the wheel's
    assert "site-packages/cwparity/suites/test_parity.py::" in done.stdout
