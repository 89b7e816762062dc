"""Transparency: what the gateway sends upstream is what the same SDK sends to Azure directly.

Each test makes one SDK call straight at mock-azure (standing in for Azure) and the same call
through the gateway, then compares the two requests the mock recorded: method, path, query
string, the kind of credential header, and the JSON body (parsed). Credential values differ
(the gateway uses its own), and so may headers such as user-agent or x-request-id.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from azure.ai.inference import ChatCompletionsClient
from azure.ai.inference.models import UserMessage
from azure.core.credentials import AzureKeyCredential
from openai import AzureOpenAI, OpenAI

import harness
from harness import CLIENT_KEY

DIRECT_KEY = "direct-azure-key"
MESSAGES = [{"role": "user", "content": "Hello"}]


def auth_kinds(headers: dict[str, str]) -> frozenset[str]:
    kinds = set()
    if "api-key" in headers:
        kinds.add("api-key")
    if headers.get("authorization", "").lower().startswith("bearer "):
        kinds.add("bearer")
    return frozenset(kinds)


def record_one(mock: harness.Mock, call: Callable[[], Any]) -> dict[str, Any]:
    mock.clear()
    call()
    recs = mock.requests()
    assert len(recs) == 1, [(r["method"], r["path"]) for r in recs]
    return recs[0]


def assert_same_wire(direct: dict[str, Any], via_gateway: dict[str, Any]) -> None:
    assert via_gateway["method"] == direct["method"]
    assert via_gateway["path"] == direct["path"]
    assert via_gateway["query"] == direct["query"]
    # The gateway authenticates with one header of a kind the SDK itself uses for this
    # endpoint (azure-ai-inference sends both api-key and Bearer; the openai SDK sends one).
    direct_kinds, gateway_kinds = auth_kinds(direct["headers"]), auth_kinds(via_gateway["headers"])
    assert len(gateway_kinds) == 1, via_gateway["headers"]
    assert gateway_kinds <= direct_kinds, (gateway_kinds, direct_kinds)
    assert json.loads(via_gateway["body"]) == json.loads(direct["body"])


def azure(endpoint: str, key: str, api_version: str = "2024-10-21") -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=endpoint, api_key=key, api_version=api_version, max_retries=0, timeout=30.0)


def test_azure_openai_chat(mock: harness.Mock, gateway: harness.Gateway) -> None:
    def call(endpoint: str, key: str) -> Callable[[], Any]:
        return lambda: azure(endpoint, key).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, temperature=0.2, max_tokens=50
        )

    direct = record_one(mock, call(mock.url, DIRECT_KEY))
    assert direct["path"] == "/openai/deployments/gpt-4o/chat/completions"
    assert auth_kinds(direct["headers"]) == {"api-key"}
    assert_same_wire(direct, record_one(mock, call(gateway.url, CLIENT_KEY)))


def test_azure_openai_chat_stream(mock: harness.Mock, gateway: harness.Gateway) -> None:
    def call(endpoint: str, key: str) -> Callable[[], Any]:
        return lambda: list(
            azure(endpoint, key).chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )

    direct = record_one(mock, call(mock.url, DIRECT_KEY))
    assert_same_wire(direct, record_one(mock, call(gateway.url, CLIENT_KEY)))


def test_azure_openai_embeddings(mock: harness.Mock, gateway: harness.Gateway) -> None:
    def call(endpoint: str, key: str) -> Callable[[], Any]:
        return lambda: azure(endpoint, key).embeddings.create(
            model="text-embedding-3-small", input=["first", "second"]
        )

    direct = record_one(mock, call(mock.url, DIRECT_KEY))
    assert direct["path"] == "/openai/deployments/text-embedding-3-small/embeddings"
    assert_same_wire(direct, record_one(mock, call(gateway.url, CLIENT_KEY)))


def test_azure_openai_responses(mock: harness.Mock, gateway: harness.Gateway) -> None:
    def call(endpoint: str, key: str) -> Callable[[], Any]:
        return lambda: azure(endpoint, key, "2025-04-01-preview").responses.create(
            model="gpt-4o", input="Hello"
        )

    direct = record_one(mock, call(mock.url, DIRECT_KEY))
    assert direct["path"] == "/openai/responses"
    assert direct["query"] == "api-version=2025-04-01-preview"
    assert_same_wire(direct, record_one(mock, call(gateway.url, CLIENT_KEY)))


def test_openai_at_azure_v1_chat(mock: harness.Mock, gateway: harness.Gateway) -> None:
    # Straight at Azure v1 the model is the deployment, gpt-4o; through the gateway the client
    # names the alias gpt-4o-v1, which the gateway maps to deployment gpt-4o on its azure-v1
    # upstream. The upstream request must be the same.
    def call(base: str, key: str, model: str) -> Callable[[], Any]:
        return lambda: OpenAI(base_url=base, api_key=key, max_retries=0, timeout=30.0).chat.completions.create(
            model=model, messages=MESSAGES
        )

    direct = record_one(mock, call(f"{mock.url}/openai/v1/", DIRECT_KEY, "gpt-4o"))
    assert direct["path"] == "/openai/v1/chat/completions"
    assert auth_kinds(direct["headers"]) == {"bearer"}
    assert_same_wire(direct, record_one(mock, call(f"{gateway.url}/openai/v1/", CLIENT_KEY, "gpt-4o-v1")))


def test_azure_ai_inference_chat(mock: harness.Mock, gateway: harness.Gateway) -> None:
    def call(endpoint: str, key: str) -> Callable[[], Any]:
        def run() -> Any:
            with ChatCompletionsClient(
                endpoint=f"{endpoint}/models", credential=AzureKeyCredential(key), api_version="2025-04-01"
            ) as client:
                return client.complete(messages=[UserMessage("Hello")], model="Phi-4", temperature=0.2)

        return run

    direct = record_one(mock, call(mock.url, DIRECT_KEY))
    assert direct["path"] == "/models/chat/completions"
    assert auth_kinds(direct["headers"]) == {"api-key", "bearer"}
    assert_same_wire(direct, record_one(mock, call(gateway.url, CLIENT_KEY)))
