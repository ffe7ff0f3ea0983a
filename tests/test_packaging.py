"""The wheel (what the Docker image installs) carries every file the service needs at run time,
and the lock files pin, with hashes, every dependency pyproject.toml asks for.

The wheel is built the way the Dockerfile builds it: from a copy of the Docker build context
(the source tree minus what .dockerignore excludes), with ``pip wheel --no-deps``. Building
from a copy keeps ``build/`` and ``*.egg-info`` out of the working tree, and shows that
.dockerignore leaves out nothing the build needs (e.g. openapi.yaml, the target of the
api/openapi.yaml symlink).
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

REQUIRED = [
    "migrations/env.py",
    "migrations/alembic.ini",
    "migrations/script.py.mako",
    "registry/data/controlled_substances.csv",
    "registry/data/SOURCES.md",
    "api/openapi.yaml",
    "api/templates/docs.html",
    "api/assets/docs.js",
    "api/render/fonts/NotoSans-Regular.ttf",
    "api/render/fonts/OFL.txt",
    # Compiled when the wheel is built (setup.py), from the catalogues in the source.
    "api/translations/vi/LC_MESSAGES/messages.mo",
    "api/translations/en/LC_MESSAGES/messages.mo",
    "registry/data/ghs/hazard_statements.csv",
    "api/gunicorn_conf.py",
    "api/wsgi.py",
    "api/cli/__init__.py",
]


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "exceptions (!) are not modelled here"
    return [p.strip("/") for p in patterns]


def _ignored(relative: str, patterns: list[str]) -> bool:
    """Roughly Docker's rules: patterns are anchored at the context root; **/ means any depth."""
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if fnmatch.fnmatchcase(name, pattern[3:]):
                return True
        elif fnmatch.fnmatchcase(relative, pattern):
            return True
    return False


def _copy_build_context(destination: Path) -> Path:
    patterns = _dockerignore_patterns()

    def ignore(directory: str, names: list[str]) -> set[str]:
        base = Path(directory).relative_to(ROOT).as_posix()
        prefix = "" if base == "." else f"{base}/"
        return {name for name in names if _ignored(prefix + name, patterns)}

    # symlinks=True: the context holds api/openapi.yaml as a link, as docker build sends it.
    shutil.copytree(ROOT, destination, symlinks=True, ignore=ignore)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    tmp = tmp_path_factory.mktemp("packaging")
    context = _copy_build_context(tmp / "context")
    out = tmp / "wheels"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-cache-dir",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("chemtrace_registry-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


@pytest.mark.slow
def test_wheel_contains_runtime_files(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    missing = [name for name in REQUIRED if name not in names]
    assert not missing, f"missing from the wheel: {missing}"


@pytest.mark.slow
def test_wheel_contains_every_module_of_the_service(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    modules = sorted(
        path.relative_to(ROOT).as_posix()
        for package in ("registry", "api", "crypto")
        for path in (ROOT / package).rglob("*.py")
    )
    assert len(modules) > 60 and "registry/custody/batches.py" in modules
    missing = [name for name in modules if name not in names]
    assert not missing, f"modules missing from the wheel: {missing}"


@pytest.mark.slow
def test_wheel_contains_every_migration(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    revisions = sorted(
        f"migrations/versions/{path.name}"
        for path in (ROOT / "migrations" / "versions").glob("*.py")
    )
    assert any(not name.endswith("__init__.py") for name in revisions)
    missing = [name for name in revisions if name not in names]
    assert not missing, f"migrations missing from the wheel: {missing}"


@pytest.mark.slow
def test_wheel_carries_the_contract_itself_not_a_link(wheel: zipfile.ZipFile):
    # api/openapi.yaml is a symlink in the source tree; the wheel must hold its content.
    assert wheel.read("api/openapi.yaml") == (ROOT / "openapi.yaml").read_bytes()


@pytest.mark.slow
def test_wheel_declares_the_console_script(wheel: zipfile.ZipFile):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[console_scripts]" in text
    assert "chemtrace = api.console:main" in text


def _pins(lock: Path) -> list[tuple[str, Version]]:
    """(name, version) of each hashed pin; a name may appear once per environment marker."""
    text = lock.read_text()
    pins = re.findall(
        r"^([A-Za-z0-9._-]+)==([^\s;]+)(?: ;[^\\\n]*)? \\\n    --hash=sha256:[0-9a-f]{64}",
        text,
        re.M,
    )
    return [(canonicalize_name(name), Version(version)) for name, version in pins]


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ["test"]), ("requirements-runtime.lock", [])]
)
def test_every_dependency_is_pinned_with_a_hash_that_satisfies_pyproject(lock, extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins = _pins(ROOT / lock)
    for requirement in wanted:
        pinned = [v for name, v in pins if name == canonicalize_name(requirement.name)]
        assert pinned, f"{requirement.name} is not pinned in {lock}: run make lock"
        for version in pinned:
            assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
    # Every line of the lock is a hashed pin, so pip --require-hashes takes it whole.
    assert len(pins) == len(re.findall(r"^\S+==", (ROOT / lock).read_text(), re.M))
