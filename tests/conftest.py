import sys
from pathlib import Path

# Plain helper modules (factories, fixtures_models) live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))


import pytest


@pytest.fixture(scope="session")
def cluster():  # type: ignore[no-untyped-def]
    """One real dask.distributed LocalCluster (two single-threaded worker processes) for the whole session."""
    from dask_cluster import local_cluster

    with local_cluster() as running:
        yield running
