"""Build the sdist and wheel, inspect them, and prove the wheel works on its own.

    .venv/bin/python scripts/check_dist.py                  # into dist/ (what a release uploads)
    .venv/bin/python scripts/check_dist.py --outdir /tmp/d  # elsewhere

Steps: ``python -m build`` (sdist, then the wheel from it), ``twine check --strict``, the wheel
holds the stream schemas and the sandbox (``edges_sandbox``), then the wheel alone is installed
into a new venv and, from a folder outside the repo (so nothing is imported from the source
tree), ``tap-edges --about``, ``tap-edges-sandbox`` and a sync against the bundled sandbox must
work. The release workflow runs this before it publishes, and a test runs it here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET_PIP = ("--quiet", "--disable-pip-version-check")
# uv, where this Python has it (scripts/venv-install puts it in the test venvs), builds and
# installs the same files as pip several times faster; pip does where it is missing.
UV = importlib.util.find_spec("uv") is not None
# What the wheel must carry besides the code: the stream schemas and the typing marker.
REQUIRED_IN_WHEEL = (
    "tap_edges/py.typed",
    "tap_edges/schemas/_common.json",
    "tap_edges/schemas/connections.json",
    "edges_sandbox/__init__.py",
)
FORBIDDEN_IN_WHEEL = ("tests/", "benchmarks/", "scripts/", ".github/")
# One schema file per stream in the source tree (tap_edges is not importable here).
STREAMS = tuple(
    sorted(p.stem for p in (ROOT / "tap_edges" / "schemas").glob("*.json") if p.stem[0] != "_")
)


def run(*command: str | Path, cwd: Path = ROOT) -> str:
    """Run a command, fail with its output when it fails, return its stdout."""
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, cwd=cwd
    )
    if done.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, command))}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def project_version() -> str:
    """The version in pyproject.toml (no tomllib: this runs on Python 3.10 too)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        sys.exit("pyproject.toml has no version")
    return found.group(1)


def build(outdir: Path) -> tuple[Path, Path]:
    """Build the sdist and the wheel; return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    for old in [*outdir.glob("*.tar.gz"), *outdir.glob("*.whl")]:
        old.unlink()  # a previous build's files only: the folder itself is left alone
    installer = ("--installer=uv",) if UV else ()
    run(sys.executable, "-m", "build", *installer, "--outdir", outdir, ROOT)
    (sdist,) = outdir.glob("*.tar.gz")
    (wheel,) = outdir.glob("*.whl")
    run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    print(f"built and checked {sdist.name}, {wheel.name}")
    return sdist, wheel


def inspect_wheel(wheel: Path) -> None:
    """The wheel holds every schema and the sandbox, and nothing of the repo's tooling."""
    names = set(zipfile.ZipFile(wheel).namelist())
    schemas = {f"tap_edges/schemas/{stream}.json" for stream in STREAMS}
    missing = sorted((set(REQUIRED_IN_WHEEL) | schemas) - names)
    if missing:
        sys.exit(f"the wheel lacks {missing}")
    stray = sorted(n for n in names if n.startswith(FORBIDDEN_IN_WHEEL))
    if stray:
        sys.exit(f"the wheel carries repo files: {stray[:5]}")
    print(f"{wheel.name}: {len(names)} files, schemas and sandbox included")


def install(wheel: Path, venv: Path) -> Path:
    """A new venv with only the wheel (and its dependencies) installed; its bin folder."""
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    if UV:
        run(sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", python, wheel)
    else:
        run(python, "-m", "pip", "install", *QUIET_PIP, wheel)
    for package in ("tap_edges", "edges_sandbox"):
        code = f"import {package}; print({package}.__file__)"
        where = run(python, "-c", code, cwd=venv).strip()
        if not Path(where).resolve().is_relative_to(venv.resolve()):
            sys.exit(f"{package} was imported from {where}, not from the venv")
    return venv / "bin"


def check_about(bin_dir: Path, workdir: Path) -> None:
    """``tap-edges --about`` of the installed wheel names the tap and the project's version."""
    about = json.loads(run(bin_dir / "tap-edges", "--about", "--format=json", cwd=workdir))
    if about["name"] != "tap-edges" or about["version"] != project_version():
        sys.exit(f"unexpected --about: {about['name']} {about['version']}")
    print(f"tap-edges --about: {about['name']} {about['version']}, {len(STREAMS)} streams")


def check_sandbox_command(bin_dir: Path, workdir: Path) -> None:
    """The wheel's ``tap-edges-sandbox`` command (``edges_sandbox.cli``) runs."""
    usage = run(bin_dir / "tap-edges-sandbox", "serve", "--help", cwd=workdir)
    if "--state-file" not in usage:
        sys.exit(f"unexpected tap-edges-sandbox serve --help:\n{usage}")
    print("tap-edges-sandbox serve --help from the wheel: OK")


def check_sandbox_sync(bin_dir: Path, workdir: Path) -> None:
    """A sync against the bundled sandbox emits records of every stream."""
    config = json.loads((ROOT / "sandbox-config.json").read_text(encoding="utf-8"))
    config.update(
        sandbox_path=str(workdir / "world.json"),
        sandbox_run_seconds=1,
        poll_interval_seconds=1,
        runs_requests_per_minute=6000,
    )
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    output = run(bin_dir / "tap-edges", "--config", config_path, cwd=workdir)
    counts = dict.fromkeys(STREAMS, 0)
    for line in output.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            counts[message["stream"]] += 1
    empty = [stream for stream, count in counts.items() if count == 0]
    if empty:
        sys.exit(f"the sandbox sync emitted no records for {empty}")
    print(f"sandbox sync from the wheel: {sum(counts.values())} records in {len(counts)} streams")


def main() -> None:
    """Build, inspect, install and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    _, wheel = build(args.outdir.resolve())
    inspect_wheel(wheel)
    with tempfile.TemporaryDirectory(prefix="tap-edges-dist-") as tmp:
        bin_dir = install(wheel, Path(tmp) / "venv")
        check_about(bin_dir, Path(tmp))
        check_sandbox_command(bin_dir, Path(tmp))
        check_sandbox_sync(bin_dir, Path(tmp))
    print("dist OK")


if __name__ == "__main__":
    main()
