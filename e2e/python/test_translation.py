"""Chat ⇄ Responses translation through the official `openai` SDK.

- `codex` is a Responses-only deployment on Azure (mock-azure refuses chat for it, as Azure
  does): a chat client's calls are translated to `/openai/v1/responses` and the answers back.
- `chat-engine` is an OpenAI-compatible engine that speaks only chat completions: a Responses
  client's calls are translated to `/v1/chat/completions` and the answers back.

Each test checks what the SDK hands back and what mock-azure recorded upstream.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import openai
import pytest

import harness
from harness import CLIENT_KEY, MOCK_TEXT

TIMEOUT = 30.0
SAW_IMAGE = " [saw 1 image(s)]"


def _png_data_url() -> str:
    """A real 2×2 PNG (red, with alpha), built here so the test has no binary fixture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00\x80" * 2 for _ in range(2))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


IMAGE = _png_data_url()
WEATHER_PARAMS = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
    "required": ["location"],
}
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather now", "parameters": WEATHER_PARAMS},
    }
]
RESPONSES_TOOLS = [
    {"type": "function", "name": "get_weather", "description": "Weather now", "parameters": WEATHER_PARAMS}
]
TOOL_ARGS = {"location": "mock-location"}


@pytest.fixture
def client(gateway: harness.Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=TIMEOUT)


def _only_request(recorder: harness.Mock) -> tuple[dict[str, Any], dict[str, Any]]:
    recs = recorder.requests()
    assert len(recs) == 1, [r["path"] for r in recs]
    return recs[0], json.loads(recs[0]["body"])


# --- a chat client against a Responses-only deployment -----------------------------------------


def test_chat_to_responses_plain_with_image(client: openai.OpenAI, recorder: harness.Mock) -> None:
    resp = client.chat.completions.create(
        model="codex",
        messages=[
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}},
                ],
            },
        ],
        max_tokens=100,
        temperature=0.5,
        reasoning_effort="minimal",
    )
    assert resp.object == "chat.completion"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == SAW_IMAGE + MOCK_TEXT
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (11, 7)
    assert resp.usage.prompt_tokens_details.cached_tokens == 3
    assert resp.usage.completion_tokens_details.reasoning_tokens == 2

    rec, body = _only_request(recorder)
    assert rec["path"] == "/openai/v1/responses"
    assert body["model"] == "gpt-5-codex"
    assert "messages" not in body
    assert body["input"][0]["role"] == "system"
    parts = body["input"][1]["content"]
    assert parts[0] == {"type": "input_text", "text": "What is in this picture?"}
    assert parts[1]["type"] == "input_image"
    assert parts[1]["image_url"] == IMAGE
    assert parts[1]["detail"] == "low"
    assert body["max_output_tokens"] == 100
    assert body["reasoning"] == {"effort": "minimal"}
    assert "temperature" not in body, "a reasoning model takes no temperature"
    assert body["store"] is False


def test_chat_to_responses_dropped_params_header(gateway: harness.Gateway, recorder: harness.Mock) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=TIMEOUT)
    raw = client.chat.completions.with_raw_response.create(
        model="codex", messages=[{"role": "user", "content": "hi"}], temperature=0.5, seed=7
    )
    dropped = [p.strip() for p in raw.headers["x-aoai-gateway-dropped-params"].split(",")]
    assert "seed" in dropped and "temperature" in dropped
    assert raw.parse().choices[0].message.content == MOCK_TEXT


def test_chat_to_responses_stream(client: openai.OpenAI, recorder: harness.Mock) -> None:
    chunks = list(
        client.chat.completions.create(
            model="codex",
            messages=[{"role": "user", "content": "Hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 18
    rec, body = _only_request(recorder)
    assert rec["path"] == "/openai/v1/responses" and body["stream"] is True

    # Without include_usage: no usage chunk, as OpenAI streams.
    chunks = list(
        client.chat.completions.create(model="codex", messages=[{"role": "user", "content": "Hi"}], stream=True)
    )
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT


def test_chat_to_responses_tool_call_round_trip(client: openai.OpenAI, recorder: harness.Mock) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Paris?"}]
    resp = client.chat.completions.create(
        model="codex", messages=messages, tools=CHAT_TOOLS, tool_choice="auto"
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == TOOL_ARGS
    _, body = _only_request(recorder)
    # Chat tools are not strict unless they say so; Responses tools are, so it is spelt out.
    assert body["tools"] == [{**RESPONSES_TOOLS[0], "strict": False}]
    assert body["tool_choice"] == "auto"

    # Second turn: the tool's result goes back; the model answers in text.
    recorder.clear()
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'})
    resp = client.chat.completions.create(model="codex", messages=messages, tools=CHAT_TOOLS)
    assert resp.choices[0].message.content == MOCK_TEXT
    _, body = _only_request(recorder)
    kinds = [item.get("type", "message") for item in body["input"]]
    assert kinds == ["message", "function_call", "function_call_output"]
    assert body["input"][1]["call_id"] == call.id
    assert body["input"][1]["name"] == "get_weather"
    assert body["input"][2] == {"type": "function_call_output", "call_id": call.id, "output": '{"temp_c": 21}'}


def test_chat_to_responses_streamed_tool_call(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="codex", messages=[{"role": "user", "content": "Weather?"}], tools=CHAT_TOOLS
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == TOOL_ARGS


def test_chat_to_responses_json_schema(client: openai.OpenAI, recorder: harness.Mock) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    client.chat.completions.create(
        model="codex",
        messages=[{"role": "developer", "content": "Reply in JSON."}, {"role": "user", "content": "hi"}],
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}},
    )
    _, body = _only_request(recorder)
    assert body["text"]["format"] == {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}
    assert body["input"][0]["role"] == "developer"


def test_chat_to_responses_refusal(gateway: harness.Gateway) -> None:
    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=CLIENT_KEY,
        max_retries=0,
        timeout=TIMEOUT,
        default_headers={"x-mock-refusal": "true"},
    )
    resp = client.chat.completions.create(model="codex", messages=[{"role": "user", "content": "bad"}])
    assert resp.choices[0].message.content is None
    assert resp.choices[0].message.refusal == "I'm sorry, I can't help with that."


# --- a Responses client against a chat-only engine ---------------------------------------------


def test_responses_to_chat_plain_with_image(client: openai.OpenAI, recorder: harness.Mock) -> None:
    resp = client.responses.create(
        model="chat-engine",
        instructions="Be brief.",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe it."},
                    {"type": "input_image", "image_url": IMAGE, "detail": "high"},
                ],
            }
        ],
        max_output_tokens=64,
    )
    assert resp.object == "response"
    assert resp.status == "completed"
    assert resp.output_text == SAW_IMAGE + MOCK_TEXT
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.total_tokens) == (11, 7, 18)
    assert resp.usage.input_tokens_details.cached_tokens == 3

    rec, body = _only_request(recorder)
    assert rec["path"] == "/v1/chat/completions"
    assert body["model"] == harness.CHAT_ONLY_DEPLOYMENT
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    parts = body["messages"][1]["content"]
    assert parts[0] == {"type": "text", "text": "Describe it."}
    assert parts[1] == {"type": "image_url", "image_url": {"url": IMAGE, "detail": "high"}}
    assert body["max_completion_tokens"] == 64


def test_responses_to_chat_stream(client: openai.OpenAI, recorder: harness.Mock) -> None:
    events = list(client.responses.create(model="chat-engine", input="Hello", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == MOCK_TEXT
    done = events[-1].response
    assert done.output_text == MOCK_TEXT
    assert done.usage is not None and done.usage.total_tokens == 18
    _, body = _only_request(recorder)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}

    # The SDK's stream helper accumulates the same answer.
    with client.responses.stream(model="chat-engine", input="Hello") as stream:
        final = stream.get_final_response()
    assert final.output_text == MOCK_TEXT


def test_responses_to_chat_tool_call_round_trip(client: openai.OpenAI, recorder: harness.Mock) -> None:
    resp = client.responses.create(model="chat-engine", input="Weather in Paris?", tools=RESPONSES_TOOLS)
    calls = [item for item in resp.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather" and json.loads(call.arguments) == TOOL_ARGS
    _, body = _only_request(recorder)
    assert body["tools"] == CHAT_TOOLS

    recorder.clear()
    resp = client.responses.create(
        model="chat-engine",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 21}'},
        ],
        tools=RESPONSES_TOOLS,
    )
    assert resp.output_text == MOCK_TEXT
    _, body = _only_request(recorder)
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "tool"]
    assert body["messages"][1]["tool_calls"][0]["id"] == call.call_id
    assert body["messages"][2]["tool_call_id"] == call.call_id


def test_responses_to_chat_streamed_tool_call(client: openai.OpenAI) -> None:
    with client.responses.stream(model="chat-engine", input="Weather?", tools=RESPONSES_TOOLS) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "response.function_call_arguments.delta")
        final = stream.get_final_response()
    (call,) = [item for item in final.output if item.type == "function_call"]
    assert json.loads(deltas) == TOOL_ARGS
    assert json.loads(call.arguments) == TOOL_ARGS


def test_responses_to_chat_refuses_what_chat_cannot_do(client: openai.OpenAI, recorder: harness.Mock) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="chat-engine", input="hi", previous_response_id="resp_123")
    assert err.value.body["param"] == "previous_response_id"
    assert recorder.requests() == []
