"""Session fixtures: one mock-azure and the gateway in front of it, stopped at the end.

`gateway` has an upstream of every kind (azure, azure-v1, openai, and the Azure AI Model
Inference `inference` kind serving `Phi-4`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

import harness
import shapes

# The SDKs read these (base URL, key, api-version, endpoint); the suites pass everything
# explicitly, so a developer's shell must not change what they send.
for _name in list(os.environ):
    if _name.startswith(("OPENAI_", "AZURE_OPENAI_", "AZURE_AI_")):
        del os.environ[_name]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture(scope="session")
def workdir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="e2e-python-") as d:
        yield d


@pytest.fixture(scope="session")
def mock(workdir: str) -> Iterator[harness.Mock]:
    m = harness.Mock(workdir)
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture(scope="session")
def gateway(mock: harness.Mock) -> Iterator[harness.Gateway]:
    g = harness.Gateway(harness.gateway_config(mock.url))
    try:
        yield g
    finally:
        g.stop()



@pytest.fixture
def recorder(mock: harness.Mock) -> harness.Mock:
    """The mock with its recordings cleared, for a test that inspects them."""
    mock.clear()
    return mock


@pytest.fixture(params=shapes.NAMES)
def shape(request: pytest.FixtureRequest, gateway: harness.Gateway) -> shapes.Shape:
    """Each client shape in turn, pointed at the session's gateway."""
    return shapes.make_shape(request.param, gateway.url)
