"""`client.realtime.connect` of the official `openai` SDK (its `websockets` transport) through
the gateway's WebSocket relay to mock-azure's realtime endpoint, in the three client shapes:

- `OpenAI(base_url=GW + "/v1")`: `ws://…/v1/realtime?model=…`, key as Bearer;
- `OpenAI(base_url=GW + "/openai/v1/")`: Azure's GA form `ws://…/openai/v1/realtime?model=…`;
- `AzureOpenAI(…, websocket_base_url="ws://…/openai")`: Azure's dated form
  `ws://…/openai/realtime?api-version=…&deployment=…`, key as `api-key`.

Each session gets `session.created`, updates the session, adds a user message and asks for a
response, then reads events up to `response.done` with the mock's usage; the mock's recording
shows the upstream handshake went to the model's deployment with the upstream's key.
"""

from __future__ import annotations

from typing import Any

import pytest
from openai import AzureOpenAI, OpenAI

import harness
from harness import CLIENT_KEY, UPSTREAM_KEY

MODEL = "gpt-realtime"
DEPLOYMENT = "gpt-realtime-dep"
AZURE_API_VERSION = "2025-04-01-preview"
TIMEOUT = 30.0


def _client(shape: str, gw: str) -> Any:
    if shape == "openai":
        return OpenAI(base_url=f"{gw}/v1", api_key=CLIENT_KEY, timeout=TIMEOUT, max_retries=0)
    if shape == "azure-v1":
        return OpenAI(
            base_url=f"{gw}/openai/v1/", api_key=CLIENT_KEY, timeout=TIMEOUT, max_retries=0
        )
    ws = gw.replace("http://", "ws://", 1)
    return AzureOpenAI(
        azure_endpoint=gw,
        api_key=CLIENT_KEY,
        api_version=AZURE_API_VERSION,
        websocket_base_url=f"{ws}/openai",
        timeout=TIMEOUT,
        max_retries=0,
    )


@pytest.mark.parametrize("shape", ["openai", "azure-v1", "azure"])
def test_a_realtime_session_round_trips(
    shape: str, gateway: harness.Gateway, recorder: harness.Mock
) -> None:
    client = _client(shape, gateway.url)
    with client.realtime.connect(model=MODEL) as conn:
        first = conn.recv()
        assert first.type == "session.created"
        conn.session.update(session={"type": "realtime", "instructions": "Be brief."})
        conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hello"}],
            }
        )
        conn.response.create()
        seen: list[str] = []
        done = None
        for event in conn:
            seen.append(event.type)
            if event.type == "response.done":
                done = event
                break
    assert "session.updated" in seen
    assert "conversation.item.created" in seen
    assert "response.created" in seen
    assert done is not None
    assert done.response.usage is not None
    assert done.response.usage.total_tokens and done.response.usage.total_tokens > 0

    handshakes = [r for r in recorder.requests() if r["path"].endswith("/realtime")]
    assert len(handshakes) == 1, handshakes
    up = handshakes[0]
    # The model's upstream is `azure`: Azure's GA realtime surface, unless the client chose a
    # dated api-version, which is kept.
    if shape == "azure":
        assert up["path"] == "/openai/realtime"
        assert f"api-version={AZURE_API_VERSION}" in up["query"]
        assert f"deployment={DEPLOYMENT}" in up["query"]
    else:
        assert up["path"] == "/openai/v1/realtime"
        assert up["query"] == f"model={DEPLOYMENT}"
    headers = {k.lower(): v for k, v in up["headers"].items()}
    assert headers.get("api-key") == UPSTREAM_KEY
    # The client's own key never reaches the upstream, in any header.
    assert CLIENT_KEY not in str(up["headers"])
