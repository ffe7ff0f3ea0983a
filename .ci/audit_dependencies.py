"""Known vulnerabilities in the locked dependencies: pip-audit, with a fallback for where it
cannot look.

pip-audit asks PyPI's per-release JSON (/pypi/<name>/<version>/json) for each pinned
release. Where that endpoint is not reachable (on our CI machines only the package
registry's project pages are), pip-audit skips the package. For those, PyPI's project JSON
(/pypi/<name>/json) still lists the known vulnerabilities of the latest release, which is
exactly our pin whenever the lock is current. A pin behind the latest release cannot be
checked that way and is reported as unaudited: usually another package holds it back
(openapi-core pins its validators, cwt pins cbor2); `make lock` picks up what it can.

Fails on any known vulnerability; lists every package it could not audit, by name.

    python .ci/audit_dependencies.py path/to/pip-audit requirements.lock
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

PROJECT_JSON = "https://pypi.org/pypi/{name}/json"


def main(pip_audit: str, lock: str) -> int:
    run = subprocess.run(  # noqa: S603 - our own tool, our own lock file
        [
            *(pip_audit, "-r", lock, "--disable-pip", "--require-hashes", "--no-deps"),
            *("--format", "json", "--progress-spinner", "off"),
        ],
        capture_output=True,
        text=True,
    )
    if not run.stdout.strip():
        print(run.stderr, file=sys.stderr)
        return 2
    report = json.loads(run.stdout)["dependencies"]
    # pip-audit leaves the version out of a skipped package; the lock has it.
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)", Path(lock).read_text(), re.M))
    pins = {_canonical(name): version for name, version in pins.items()}
    vulnerable, by_pip_audit, by_project_json, unaudited = [], 0, 0, []
    for dependency in report:
        name = dependency["name"]
        version = dependency.get("version") or pins.get(_canonical(name))
        if "skip_reason" not in dependency:
            by_pip_audit += 1
            vulns = [v["id"] for v in dependency.get("vulns", [])]
        else:
            latest, vulns = _latest_release_vulnerabilities(name)
            if latest != version:
                unaudited.append(f"{name}=={version} (latest {latest})")
                continue
            by_project_json += 1
        if vulns:
            vulnerable.append(f"{name}=={version}: {', '.join(vulns)}")
    print(
        f"{len(report)} locked packages: {by_pip_audit} audited by pip-audit, "
        f"{by_project_json} through PyPI's project JSON (pin = latest release), "
        f"{len(unaudited)} unaudited"
    )
    for line in unaudited:
        print(f"UNAUDITED {line}")
    for line in vulnerable:
        print(f"VULNERABLE {line}")
    return 1 if vulnerable else 0


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _latest_release_vulnerabilities(name: str) -> tuple[str, list[str]]:
    with urllib.request.urlopen(PROJECT_JSON.format(name=name), timeout=30) as response:  # noqa: S310 - a fixed https URL
        project = json.load(response)
    vulns = [v["id"] for v in project.get("vulnerabilities", []) if not v.get("withdrawn")]
    return project["info"]["version"], vulns


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
