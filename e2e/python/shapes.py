"""The three client shapes of the official `openai` SDK the suites drive through the gateway:

- `v1`: `OpenAI(base_url=GW + "/v1")`, the gateway as api.openai.com;
- `azure`: `AzureOpenAI(azure_endpoint=GW, api_version=…)`, the gateway as an Azure OpenAI
  resource (`/openai/deployments/{model}/…?api-version=…`, `/openai/{files,…}?api-version=…`);
- `openai-v1-path`: `OpenAI(base_url=GW + "/openai/v1/")`, the gateway as an Azure v1 endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from openai import AzureOpenAI, OpenAI

from harness import CLIENT_KEY

NAMES = ["v1", "azure", "openai-v1-path"]

# The Responses API needs a dated preview api-version on the Azure surface (A1).
AZURE_API_VERSION = "2024-10-21"
AZURE_RESPONSES_API_VERSION = "2025-04-01-preview"
TIMEOUT = 30.0  # seconds per request: a hang fails the test instead of stalling the run


@dataclass
class Shape:
    name: str
    # make(api_key=…, max_retries=…, api_version=…) -> a client of this shape
    make: Callable[..., OpenAI]

    @property
    def client(self) -> OpenAI:
        return self.make()

    @property
    def responses_client(self) -> OpenAI:
        return self.make(api_version=AZURE_RESPONSES_API_VERSION)


def make_shape(name: str, gw: str) -> Shape:
    if name == "v1":

        def make(api_key: str = CLIENT_KEY, max_retries: int = 0, api_version: str = "") -> OpenAI:
            return OpenAI(base_url=f"{gw}/v1", api_key=api_key, max_retries=max_retries, timeout=TIMEOUT)

    elif name == "azure":

        def make(
            api_key: str = CLIENT_KEY, max_retries: int = 0, api_version: str = AZURE_API_VERSION
        ) -> OpenAI:
            return AzureOpenAI(
                azure_endpoint=gw,
                api_key=api_key,
                api_version=api_version or AZURE_API_VERSION,
                max_retries=max_retries,
                timeout=TIMEOUT,
            )

    elif name == "openai-v1-path":

        def make(api_key: str = CLIENT_KEY, max_retries: int = 0, api_version: str = "") -> OpenAI:
            return OpenAI(base_url=f"{gw}/openai/v1/", api_key=api_key, max_retries=max_retries, timeout=TIMEOUT)

    else:  # pragma: no cover
        raise ValueError(name)
    return Shape(name, make)
