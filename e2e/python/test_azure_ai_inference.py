"""Python `azure-ai-inference` against the gateway's Azure AI Model Inference face (`/models`).

Each test runs twice: with `Phi-4`, a model on an Azure AI Model Inference upstream
(`kind: "inference"`), and with `llama`, a model on an OpenAI-compatible engine (the seed use
case: Azure-style clients in front of vLLM). The SDK's default api-version, 2024-05-01-preview,
was retired on 2026-04-10, so the clients ask for the GA version, 2025-04-01.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from azure.ai.inference import ChatCompletionsClient, EmbeddingsClient
from azure.ai.inference.models import SystemMessage, UserMessage
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError

import harness
from harness import (
    CLIENT_KEY,
    ENGINE_KEY,
    MOCK_COMPLETION_TOKENS,
    MOCK_EMBEDDING_DIMENSIONS,
    MOCK_PROMPT_TOKENS,
    MOCK_TEXT,
    MOCK_TOTAL_TOKENS,
    UPSTREAM_KEY,
)

API_VERSION = "2025-04-01"
MESSAGES = [SystemMessage("You are terse."), UserMessage("Hello")]
RAW_MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello"}]

# What each model's upstream request must look like: path, query, credential, body model.
UPSTREAM = {
    "Phi-4": {
        "chat": "/models/chat/completions",
        "embeddings": "/models/embeddings",
        "query": f"api-version={API_VERSION}",
        "authorization": f"Bearer {UPSTREAM_KEY}",
        "model": "Phi-4",
    },
    "llama": {
        "chat": "/v1/chat/completions",
        "embeddings": "/v1/embeddings",
        "query": None,
        "authorization": f"Bearer {ENGINE_KEY}",
        "model": "meta-llama/Llama-3.1-8B-Instruct",
    },
}


@pytest.fixture(params=["Phi-4", "llama"])
def model(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def gw(gateway: harness.Gateway) -> str:
    """The gateway's URL (it serves both models)."""
    return gateway.url


def chat_client(gw: str, key: str = CLIENT_KEY) -> ChatCompletionsClient:
    return ChatCompletionsClient(
        endpoint=f"{gw}/models", credential=AzureKeyCredential(key), api_version=API_VERSION
    )


def _assert_upstream(rec: dict[str, Any], model: str, op: str) -> dict[str, Any]:
    want = UPSTREAM[model]
    assert rec["method"] == "POST"
    assert rec["path"] == want[op]
    assert rec["query"] == want["query"]
    assert rec["headers"].get("authorization") == want["authorization"]
    assert "api-key" not in rec["headers"]
    body = json.loads(rec["body"])
    assert body["model"] == want["model"]
    if model == "Phi-4":
        # The gateway has already applied the client's extra-parameters rule.
        assert rec["headers"].get("extra-parameters") == "pass-through"
    return body


# --- the SDK ---------------------------------------------------------------------------------


def test_chat_plain(gw: str, model: str, recorder: harness.Mock) -> None:
    with chat_client(gw) as client:
        resp = client.complete(messages=MESSAGES, model=model)
    assert resp.choices[0].message.content == MOCK_TEXT
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (
        MOCK_PROMPT_TOKENS,
        MOCK_COMPLETION_TOKENS,
        MOCK_TOTAL_TOKENS,
    )
    recs = recorder.requests()
    assert len(recs) == 1
    body = _assert_upstream(recs[0], model, "chat")
    assert body["messages"] == RAW_MESSAGES


def test_chat_stream(gw: str, model: str, recorder: harness.Mock) -> None:
    with chat_client(gw) as client:
        with client.complete(messages=MESSAGES, model=model, stream=True) as stream:
            updates = list(stream)
    text = "".join(u.choices[0].delta.content or "" for u in updates if u.choices)
    assert text == MOCK_TEXT
    finishes = [u.choices[0].finish_reason for u in updates if u.choices and u.choices[0].finish_reason]
    assert finishes == ["stop"]
    recs = recorder.requests()
    assert len(recs) == 1
    assert _assert_upstream(recs[0], model, "chat")["stream"] is True


def test_embeddings(gw: str, model: str, recorder: harness.Mock) -> None:
    with EmbeddingsClient(
        endpoint=f"{gw}/models", credential=AzureKeyCredential(CLIENT_KEY), api_version=API_VERSION
    ) as client:
        resp = client.embed(input=["first", "second"], model=model)
    assert [d.index for d in resp.data] == [0, 1]
    for d in resp.data:
        assert isinstance(d.embedding, list)
        assert len(d.embedding) == MOCK_EMBEDDING_DIMENSIONS
    assert resp.data[0].embedding != resp.data[1].embedding
    assert resp.usage.prompt_tokens == MOCK_PROMPT_TOKENS
    recs = recorder.requests()
    assert len(recs) == 1
    assert _assert_upstream(recs[0], model, "embeddings")["input"] == ["first", "second"]


def test_get_model_info(gw: str, model: str) -> None:
    # The SDK sends no model on /info (even with a model set on the client); an endpoint that
    # serves several models takes it as the `model` query parameter (api-version 2025-04-01).
    with chat_client(gw) as client:
        info = client.get_model_info(params={"model": model})
    assert isinstance(info.model_name, str) and info.model_name
    assert info.model_type == "chat-completions"


def test_wrong_key_is_client_authentication_error(gw: str, model: str, recorder: harness.Mock) -> None:
    with chat_client(gw, key="sk-wrong") as client:
        with pytest.raises(ClientAuthenticationError) as info:
            client.complete(messages=MESSAGES, model=model)
    assert info.value.status_code == 401
    assert recorder.requests() == []


def test_model_extras_pass_through(gw: str, model: str, recorder: harness.Mock) -> None:
    # model_extras= puts the keys at the body's root and sends extra-parameters: pass-through.
    with chat_client(gw) as client:
        resp = client.complete(messages=MESSAGES, model=model, model_extras={"top_k": 40})
    assert resp.choices[0].message.content == MOCK_TEXT
    recs = recorder.requests()
    assert len(recs) == 1
    assert _assert_upstream(recs[0], model, "chat")["top_k"] == 40


# --- extra-parameters, raw -------------------------------------------------------------------


def _raw_chat(gw: str, model: str, headers: dict[str, str], query: str = f"?api-version={API_VERSION}"):
    s = requests.Session()
    s.trust_env = False
    body = {"model": model, "messages": RAW_MESSAGES, "unknown_knob": 7}
    return s.post(
        f"{gw}/models/chat/completions{query}",
        headers={"content-type": "application/json", **headers},
        data=json.dumps(body),
        timeout=30,
    )


def test_extra_parameter_rejected_by_default(gw: str, model: str, recorder: harness.Mock) -> None:
    r = _raw_chat(gw, model, {"authorization": f"Bearer {CLIENT_KEY}"})
    assert r.status_code == 422, r.text
    assert r.json()["status"] == 422
    assert recorder.requests() == []


def test_extra_parameter_error_header_rejects(gw: str, model: str, recorder: harness.Mock) -> None:
    r = _raw_chat(gw, model, {"authorization": f"Bearer {CLIENT_KEY}", "extra-parameters": "error"})
    assert r.status_code == 422, r.text
    assert r.json()["status"] == 422
    assert recorder.requests() == []


def test_extra_parameter_drop(gw: str, model: str, recorder: harness.Mock) -> None:
    # The key as `api-key`, which Azure-style callers also use.
    r = _raw_chat(gw, model, {"api-key": CLIENT_KEY, "extra-parameters": "drop"})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == MOCK_TEXT
    recs = recorder.requests()
    assert len(recs) == 1
    body = _assert_upstream(recs[0], model, "chat")
    assert "unknown_knob" not in body
    assert body["messages"] == RAW_MESSAGES


def test_extra_parameter_pass_through(gw: str, model: str, recorder: harness.Mock) -> None:
    r = _raw_chat(gw, model, {"authorization": f"Bearer {CLIENT_KEY}", "extra-parameters": "pass-through"})
    assert r.status_code == 200, r.text
    recs = recorder.requests()
    assert len(recs) == 1
    assert _assert_upstream(recs[0], model, "chat")["unknown_knob"] == 7


def test_missing_api_version_is_400(gw: str, model: str, recorder: harness.Mock) -> None:
    r = _raw_chat(gw, model, {"authorization": f"Bearer {CLIENT_KEY}", "extra-parameters": "drop"}, query="")
    assert r.status_code == 400, r.text
    assert recorder.requests() == []
