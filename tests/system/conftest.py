"""``toro dev`` started as a user starts it: its own process, on free ports, with no key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.toro_dev import Dev, running_dev


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    with running_dev(tmp_path_factory.mktemp("toro-dev")) as started:
        yield started
