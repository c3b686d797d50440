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


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """The dataset check caches its results in a folder of the test session,
    never in the user's ~/.cache (subprocesses inherit the variable)."""
    folder = str(tmp_path_factory.mktemp("inade-cache"))
    previous = os.environ.get("INADE_CACHE_DIR")
    os.environ["INADE_CACHE_DIR"] = folder
    yield folder
    if previous is None:
        del os.environ["INADE_CACHE_DIR"]
    else:
        os.environ["INADE_CACHE_DIR"] = previous
