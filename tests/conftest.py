import os

import pytest

import inade
from inade.runtime import prepare_process

# The test process is an entry point like the `inade` command: threads and MKL
# are set before the first test imports paddle (subprocesses inherit them).
prepare_process()

TESTS = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("INADE_SHARED", os.path.join(os.path.dirname(os.path.dirname(TESTS)), "shared"))
FIXTURES = os.path.join(SHARED, "fixtures")


def _source_tree():
    """The repository checkout: beside tests/, or INADE_SOURCE when the tests
    run from a copy against an installed inade."""
    folder = os.path.abspath(os.environ.get("INADE_SOURCE", os.path.dirname(TESTS)))
    return folder if os.path.isfile(os.path.join(folder, "inade", "__init__.py")) else None


def pytest_report_header(config):
    return f"inade {inade.__version__} from {os.path.dirname(inade.__file__)}"


def gpu_available() -> bool:
    import paddle

    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def pytest_collection_modifyitems(config, items):
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if gpu_tests and not gpu_available():
        skip = pytest.mark.skip(reason="needs a GPU (this Paddle is a CPU build or sees no GPU)")
        for item in gpu_tests:
            item.add_marker(skip)


def pytest_sessionstart(session):
    # CI runs the suite against the wheel it installed: make sure that is the inade imported
    expected = os.environ.get("INADE_EXPECT_INSTALLED_IN")
    if expected and not os.path.abspath(inade.__file__).startswith(os.path.abspath(expected) + os.sep):
        pytest.exit(f"inade is imported from {inade.__file__}, not from the installation in {expected}", returncode=3)


@pytest.fixture(scope="session")
def fixtures_dir():
    if not os.path.isdir(FIXTURES):
        pytest.fail(f"reference fixtures not found at {FIXTURES} (set INADE_SHARED to the shared/ folder)")
    return FIXTURES


@pytest.fixture(scope="session")
def source_tree():
    """The repository checkout (for the tests of its files: tools/, notebooks/, the wheel's build)."""
    folder = _source_tree()
    if folder is None:
        pytest.fail("the repository checkout is not beside tests/ (set INADE_SOURCE to it)")
    return folder


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
