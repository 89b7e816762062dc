"""The official `openai` Python SDK against the gateway, in the three shapes clients use:

- `OpenAI(base_url=GW + "/v1")`: the gateway as api.openai.com;
- `AzureOpenAI(azure_endpoint=GW, api_version=…)`: the gateway as an Azure OpenAI resource
  (`/openai/deployments/{model}/…?api-version=…`, `/openai/responses?api-version=…`);
- `OpenAI(base_url=GW + "/openai/v1/")`: the gateway as an Azure v1 endpoint.

Every call goes through the real gateway to mock-azure, whose default answer is known
(`harness.MOCK_*`), so each test checks what the SDK hands back, not just that it returned.
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

import harness
from harness import (
    MOCK_COMPLETION_TOKENS,
    MOCK_EMBEDDING_DIMENSIONS,
    MOCK_PROMPT_TOKENS,
    MOCK_TEXT,
    MOCK_TOTAL_TOKENS,
    UPSTREAM_KEY,
)

from shapes import Shape

CHAT_MODEL = "gpt-4o"
MESSAGES = [{"role": "user", "content": "Hello"}]


def _assert_went_to_azure_chat(recs: list[dict[str, Any]]) -> None:
    """The gateway sent exactly one request, to deployment gpt-4o with its own key."""
    assert len(recs) == 1, recs
    rec = recs[0]
    assert rec["method"] == "POST"
    assert rec["path"] == "/openai/deployments/gpt-4o/chat/completions"
    assert rec["query"] == "api-version=2024-10-21"
    assert rec["headers"].get("api-key") == UPSTREAM_KEY
    assert "authorization" not in rec["headers"]


def _usage_tuple(usage: Any) -> tuple[int, int, int]:
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


# --- chat completions ------------------------------------------------------------------------


def test_chat_plain(shape: Shape, recorder: harness.Mock) -> None:
    resp = shape.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == MOCK_TEXT
    assert resp.choices[0].finish_reason == "stop"
    assert _usage_tuple(resp.usage) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS, MOCK_TOTAL_TOKENS)
    # Azure's extra fields survive the trip (the SDK keeps unknown fields).
    assert resp.model_extra is not None and "prompt_filter_results" in resp.model_extra
    recs = recorder.requests()
    _assert_went_to_azure_chat(recs)
    body = json.loads(recs[0]["body"])
    assert body["messages"] == MESSAGES


def test_chat_stream(shape: Shape, recorder: harness.Mock) -> None:
    chunks = list(shape.client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True))
    # Azure's stream opens with an empty-choices prompt-filter chunk; it reaches the SDK as is.
    assert chunks[0].choices == []
    assert chunks[0].model_extra is not None and "prompt_filter_results" in chunks[0].model_extra
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    # No usage was asked for, so none arrives.
    assert all(c.usage is None for c in chunks)
    _assert_went_to_azure_chat(recorder.requests())


def test_chat_stream_include_usage(shape: Shape, recorder: harness.Mock) -> None:
    chunks = list(
        shape.client.chat.completions.create(
            model=CHAT_MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices == []  # the prompt-filter chunk did not break the SDK
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert _usage_tuple(last.usage) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS, MOCK_TOTAL_TOKENS)
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT
    recs = recorder.requests()
    _assert_went_to_azure_chat(recs)
    assert json.loads(recs[0]["body"])["stream_options"] == {"include_usage": True}


def test_chat_stream_helper(shape: Shape) -> None:
    deltas: list[str] = []
    event_types: list[str] = []
    with shape.client.chat.completions.stream(model=CHAT_MODEL, messages=MESSAGES) as stream:
        for event in stream:
            event_types.append(event.type)
            if event.type == "content.delta":
                deltas.append(event.delta)
        final = stream.get_final_completion()
    assert "".join(deltas) == MOCK_TEXT
    assert final.choices[0].message.content == "".join(deltas)
    assert final.choices[0].finish_reason == "stop"
    assert event_types.count("content.done") == 1


# --- responses -------------------------------------------------------------------------------

RESPONSE_EVENT_TYPES = (
    ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    + ["response.output_text.delta"] * 5
    + ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
)


def test_responses_plain(shape: Shape) -> None:
    resp = shape.responses_client.responses.create(model=CHAT_MODEL, input="Hello")
    assert resp.object == "response"
    assert resp.status == "completed"
    assert resp.output_text == MOCK_TEXT
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS)


def test_responses_stream(shape: Shape) -> None:
    events = list(shape.responses_client.responses.create(model=CHAT_MODEL, input="Hello", stream=True))
    assert [e.type for e in events] == RESPONSE_EVENT_TYPES
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == MOCK_TEXT
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.status == "completed"
    assert completed.response.output_text == MOCK_TEXT


# --- completions, embeddings, images ---------------------------------------------------------


def test_completions(shape: Shape, recorder: harness.Mock) -> None:
    resp = shape.client.completions.create(model="gpt-35-turbo-instruct", prompt="Say hello")
    assert resp.object == "text_completion"
    assert resp.choices[0].text == MOCK_TEXT
    assert _usage_tuple(resp.usage) == (MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS, MOCK_TOTAL_TOKENS)
    recs = recorder.requests()
    assert len(recs) == 1
    assert recs[0]["path"] == "/openai/deployments/gpt-35-turbo-instruct/completions"


def test_embeddings(shape: Shape, recorder: harness.Mock) -> None:
    # The SDK asks for base64 by default and decodes it; ask for floats too and compare.
    resp = shape.client.embeddings.create(model="text-embedding-3-small", input=["first", "second"])
    floats = shape.client.embeddings.create(
        model="text-embedding-3-small", input=["first", "second"], encoding_format="float"
    )
    assert [d.index for d in resp.data] == [0, 1]
    for d in resp.data:
        assert len(d.embedding) == MOCK_EMBEDDING_DIMENSIONS
        assert all(isinstance(x, float) for x in d.embedding)
    assert resp.data[0].embedding != resp.data[1].embedding
    for a, b in zip(resp.data, floats.data):
        assert a.embedding == pytest.approx(b.embedding, rel=1e-6)
    assert resp.usage.prompt_tokens == MOCK_PROMPT_TOKENS
    recs = recorder.requests()
    assert [r["path"] for r in recs] == ["/openai/deployments/text-embedding-3-small/embeddings"] * 2
    assert json.loads(recs[0]["body"])["encoding_format"] == "base64"


def test_images(shape: Shape, recorder: harness.Mock) -> None:
    resp = shape.client.images.generate(model="dall-e-3", prompt="a lighthouse", response_format="b64_json")
    assert resp.data is not None and len(resp.data) == 1
    assert resp.data[0].b64_json is not None
    assert resp.data[0].b64_json.startswith("iVBORw0KGgo")  # a PNG
    recs = recorder.requests()
    assert len(recs) == 1
    assert recs[0]["path"] == "/openai/deployments/dall-e-3/images/generations"


# --- errors ----------------------------------------------------------------------------------


def test_wrong_key_is_authentication_error(shape: Shape, recorder: harness.Mock) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        shape.make(api_key="sk-wrong").chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
    assert info.value.status_code == 401
    assert recorder.requests() == []  # refused at the gateway


def test_unknown_model_is_not_found(shape: Shape, recorder: harness.Mock) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        shape.client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert info.value.status_code == 404
    # The model is unknown, not the URL: the gateway says so in OpenAI's code or Azure's.
    assert info.value.code in ("model_not_found", "DeploymentNotFound")
    assert recorder.requests() == []


def test_content_filter_is_bad_request(shape: Shape) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        shape.client.chat.completions.create(
            model=CHAT_MODEL, messages=MESSAGES, extra_headers={"x-mock-content-filter": "true"}
        )
    assert info.value.status_code == 400
    assert info.value.code == "content_filter"
    assert isinstance(info.value.body, dict)
    assert info.value.body.get("innererror", {}).get("code") == "ResponsibleAIPolicyViolation"


def test_rate_limit_honours_retry_after_ms(shape: Shape, recorder: harness.Mock) -> None:
    # The SDK's own backoff before its first retry is at most 0.5 s; 1.4 s or more means it
    # waited for the retry-after-ms the gateway passed on from Azure.
    client = shape.make(max_retries=1)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model=CHAT_MODEL,
            messages=MESSAGES,
            extra_headers={"x-mock-status": "429", "x-mock-retry-after-ms": "1500"},
        )
    elapsed = time.monotonic() - started
    assert info.value.status_code == 429
    assert info.value.response.headers.get("retry-after-ms") == "1500"
    assert info.value.code == "429"  # Azure's body passes through as sent
    recs = recorder.requests()
    assert len(recs) == 2, [r["path"] for r in recs]
    assert elapsed >= 1.4, f"retried after {elapsed:.2f} s"
