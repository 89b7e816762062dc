"""Resource-level APIs and stored responses through the official `openai` SDK, in the three
client shapes: files (upload, list, retrieve, content, delete), batches (create, retrieve until
done, list, cancel), fine-tuning jobs, and `responses.retrieve` / `input_items` / `cancel` /
`delete`.

The gateway sends files, batches and fine-tunes to `resources.upstream` (the `azure` upstream:
`/openai/{files,batches,fine_tuning/jobs}?api-version=…`), and a stored response back to the
upstream that created it. mock-azure keeps real per-resource state, so a wrong route or a
mangled upload fails these tests.
"""

from __future__ import annotations

import json

import openai
import pytest

import harness
from harness import CLIENT_KEY, UPSTREAM_KEY
from shapes import AZURE_API_VERSION, Shape

CHAT_MODEL = "gpt-4o"


def _jsonl(n: int) -> bytes:
    lines = [
        {
            "custom_id": f"req-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": CHAT_MODEL, "messages": [{"role": "user", "content": f"Hi {i}"}]},
        }
        for i in range(n)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _resource_calls(recorder: harness.Mock) -> list[dict[str, object]]:
    return [r for r in recorder.requests() if "/files" in r["path"] or "/batches" in r["path"]]


def test_files_lifecycle(shape: Shape, recorder: harness.Mock) -> None:
    client = shape.client
    data = _jsonl(3)
    created = client.files.create(file=("batch.jsonl", data), purpose="batch")
    assert created.bytes == len(data) and created.filename == "batch.jsonl"
    listed = client.files.list(purpose="batch")
    assert created.id in [f.id for f in listed.data]
    assert client.files.retrieve(created.id).id == created.id
    assert client.files.content(created.id).read() == data
    deleted = client.files.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    calls = _resource_calls(recorder)
    assert calls[0]["method"] == "POST" and calls[0]["path"] == "/openai/files"
    for call in calls:
        # The resources upstream is `azure`: its api-version (an Azure client's own, kept).
        assert f"api-version={AZURE_API_VERSION}" in (call["query"] or "")
        assert call["headers"].get("api-key") == UPSTREAM_KEY
        assert CLIENT_KEY not in json.dumps(call["headers"])


def test_batch_runs_and_cancels(shape: Shape, recorder: harness.Mock) -> None:
    client = shape.client
    data = _jsonl(2)
    file = client.files.create(file=("in.jsonl", data), purpose="batch")
    batch = client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating"
    for _ in range(10):  # the mock moves a batch one step per read
        batch = client.batches.retrieve(batch.id)
        if batch.status == "completed":
            break
    assert batch.status == "completed", batch
    assert batch.request_counts is not None and batch.request_counts.completed == 2
    assert batch.output_file_id
    out = client.files.content(batch.output_file_id).read().decode()
    answers = [json.loads(line) for line in out.splitlines()]
    assert sorted(a["custom_id"] for a in answers) == ["req-0", "req-1"]
    assert batch.id in [b.id for b in client.batches.list(limit=50).data]
    other = client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cancelled = client.batches.cancel(other.id)
    assert cancelled.status in ("cancelling", "cancelled")
    assert any(c["path"] == f"/openai/batches/{other.id}/cancel" for c in _resource_calls(recorder))


def test_fine_tuning_job(shape: Shape) -> None:
    client = shape.client
    training = client.files.create(
        file=("train.jsonl", b'{"messages":[{"role":"user","content":"Hi"}]}\n'),
        purpose="fine-tune",
    )
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training.id)
    assert job.training_file == training.id
    assert job.id in [j.id for j in client.fine_tuning.jobs.list(limit=20).data]
    assert client.fine_tuning.jobs.retrieve(job.id).id == job.id
    events = client.fine_tuning.jobs.list_events(job.id)
    assert events.data and all(e.object == "fine_tuning.job.event" for e in events.data)
    client.fine_tuning.jobs.checkpoints.list(job.id)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"


def test_stored_response_round_trip(shape: Shape, recorder: harness.Mock) -> None:
    client = shape.responses_client
    created = client.responses.create(model=CHAT_MODEL, input="Remember me")
    fetched = client.responses.retrieve(created.id)
    assert fetched.id == created.id and fetched.status == "completed"
    items = client.responses.input_items.list(created.id)
    assert items.data[0].content[0].text == "Remember me"
    # Only a background response can be cancelled; the upstream's 400 comes through.
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(created.id)
    background = client.responses.create(model=CHAT_MODEL, input="Later", background=True)
    assert background.status == "queued"
    assert client.responses.cancel(background.id).status == "cancelled"
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    paths = [r["path"] for r in recorder.requests()]
    assert any(p.endswith(f"/responses/{created.id}/input_items") for p in paths), paths
