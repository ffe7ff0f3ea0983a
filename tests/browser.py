"""The Chromium that the tests looking at what a person sees run in (apt-get install chromium)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium(*, even_outside_ci: bool = False) -> str:
    """Chromium's path. Missing, it fails the test in CI (and always when ``even_outside_ci``),
    and skips it, saying why, on a developer's machine."""
    if CHROMIUM is None:
        if even_outside_ci or os.environ.get("CI"):
            pytest.fail("Chromium is required for this test (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM
