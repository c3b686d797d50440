import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import inade  # noqa: E402,F401  (sets thread/MKL environment before paddle loads)

SHARED = os.environ.get("INADE_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
FIXTURES = os.path.join(SHARED, "fixtures")


@pytest.fixture(scope="session")
def fixtures_dir():
    if not os.path.isdir(FIXTURES):
        pytest.fail(f"reference fixtures not found at {FIXTURES} (set INADE_SHARED to the shared/ folder)")
    return FIXTURES
