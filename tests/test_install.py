"""Installing as users will: the README, the Hub definition and meltano.yml agree, and the
built wheel works on its own."""

from __future__ import annotations

import re
import subprocess
import sys
import typing as t

import pytest
import yaml
from releasekit import PYPROJECT, ROOT, pyproject_field, supported_pythons

if t.TYPE_CHECKING:
    from pathlib import Path

README = (ROOT / "README.md").read_text(encoding="utf-8")
HUB_FILE = ROOT / "plugin" / "extractors" / "tap-edges--edgesrun.yml"


def pypi_name() -> str:
    """The [project] name of pyproject.toml: what ``pip install`` takes once released."""
    return pyproject_field("name")


def install_section() -> str:
    return README.split("<!-- install:start -->", 1)[1].split("<!-- install:end -->", 1)[0]


def meltano_pip_url() -> str:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-edges"]
    url: str = tap["pip_url"]
    return url


def test_hub_definition_installs_the_released_package() -> None:
    hub = yaml.safe_load(HUB_FILE.read_text(encoding="utf-8"))
    assert hub["pip_url"] == pypi_name()


def test_meltano_yml_installs_this_clone() -> None:
    url = meltano_pip_url()
    flags, path = url.split()
    assert flags == "-e"
    assert (ROOT / path / "pyproject.toml").is_file()


def test_readme_install_section_names_both_ways() -> None:
    section = install_section()
    hub = yaml.safe_load(HUB_FILE.read_text(encoding="utf-8"))
    assert f"pipx install {pypi_name()} " in section
    assert f"pip install {pypi_name()}\n" in section
    assert f"`pip_url: {hub['pip_url']}`" in section
    assert f"`pip_url: {meltano_pip_url()}`" in section
    assert "pipx install .`" in section


def test_supported_pythons_are_the_classifiers_and_about() -> None:
    classifiers = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', PYPROJECT)
    assert classifiers == supported_pythons()
    assert pyproject_field("requires-python") == f">={classifiers[0]}"
    assert f"{classifiers[0]} to {classifiers[-1]} are tested" in install_section()


@pytest.mark.slow
def test_built_wheel_installs_and_syncs_in_a_clean_venv(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_dist.py"), "--outdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sandbox sync from the wheel" in done.stdout
    assert done.stdout.rstrip().endswith("dist OK")
