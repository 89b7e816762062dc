"""The README's curl lines ("Use it from…"), one per face, as raw HTTP requests.

They differ from what the SDKs send in ways a hand-written request does: the Azure face gets no
`model` in the body (the deployment is in the path), the key goes as `api-key`, and the Model
Inference request carries an extra body key with `extra-parameters: pass-through`. All three
use `gpt-4o`, a model on the Azure (dated api-version) upstream.
"""

from __future__ import annotations

import json

import requests

import harness
from harness import CLIENT_KEY, MOCK_TEXT, UPSTREAM_KEY

MESSAGES = [{"role": "user", "content": "Hello"}]


def post(url: str, headers: dict[str, str], body: dict) -> requests.Response:
    s = requests.Session()
    s.trust_env = False
    return s.post(url, headers={"content-type": "application/json", **headers}, data=json.dumps(body), timeout=30)


def assert_azure_upstream(mock: harness.Mock) -> dict:
    recs = mock.requests()
    assert len(recs) == 1
    assert recs[0]["path"] == "/openai/deployments/gpt-4o/chat/completions"
    assert recs[0]["query"] == "api-version=2024-10-21"
    assert recs[0]["headers"].get("api-key") == UPSTREAM_KEY
    return json.loads(recs[0]["body"])


def test_openai_face(gateway: harness.Gateway, recorder: harness.Mock) -> None:
    r = post(
        f"{gateway.url}/v1/chat/completions",
        {"authorization": f"Bearer {CLIENT_KEY}"},
        {"model": "gpt-4o", "messages": MESSAGES},
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == MOCK_TEXT
    assert assert_azure_upstream(recorder)["messages"] == MESSAGES


def test_azure_face_without_body_model(gateway: harness.Gateway, recorder: harness.Mock) -> None:
    r = post(
        f"{gateway.url}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        {"api-key": CLIENT_KEY},
        {"messages": MESSAGES},
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == MOCK_TEXT
    assert assert_azure_upstream(recorder)["messages"] == MESSAGES


def test_model_inference_face_to_azure_upstream(gateway: harness.Gateway, recorder: harness.Mock) -> None:
    r = post(
        f"{gateway.url}/models/chat/completions?api-version=2025-04-01",
        {"authorization": f"Bearer {CLIENT_KEY}", "extra-parameters": "pass-through"},
        {"model": "gpt-4o", "messages": MESSAGES, "top_k": 40},
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == MOCK_TEXT
    body = assert_azure_upstream(recorder)
    assert body["messages"] == MESSAGES
    assert body["top_k"] == 40
