"""Audio and image uploads through the official `openai` SDK, in the three client shapes:
`audio.transcriptions.create` and `audio.translations.create` with a real WAV file written in
the test, `audio.speech.create` (whole and streamed), and `images.edit`.

mock-azure's transcription text names the file, its byte count, the first 16 hex digits of its
SHA-256 and the deployment that received it, so each test proves the upload arrived intact at
the right deployment, wherever the SDK put the `model` field.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from pathlib import Path
from typing import Any

import pytest

import harness
from harness import UPSTREAM_KEY, UPSTREAM_TOKEN
from shapes import Shape


def _wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A mono 16-bit sine-wave WAV file, written to `path`; returns its bytes."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path.read_bytes()


def _fingerprint(data: bytes) -> str:
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def _only(recs: list[dict[str, Any]], suffix: str) -> dict[str, Any]:
    hits = [r for r in recs if r["path"].endswith(suffix)]
    assert len(hits) == 1, recs
    return hits[0]


def test_transcription_of_a_wav_file(shape: Shape, recorder: harness.Mock, tmp_path: Path) -> None:
    data = _wav(tmp_path / "hello.wav")
    with open(tmp_path / "hello.wav", "rb") as f:
        out = shape.client.audio.transcriptions.create(model="whisper", file=f)
    assert out.text == f"transcribed hello.wav: {_fingerprint(data)}, by whisper-dep"
    rec = _only(recorder.requests(), "/audio/transcriptions")
    # The model's upstream is `azure`: the deployment path, whatever the client's shape.
    assert rec["path"] == "/openai/deployments/whisper-dep/audio/transcriptions"
    assert rec["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert rec["headers"].get("api-key") == UPSTREAM_KEY


# openai 3.54 marks `audio.translations` deprecated; Azure and OpenAI still serve it.
@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_translation_and_formats(shape: Shape, recorder: harness.Mock, tmp_path: Path) -> None:
    data = _wav(tmp_path / "bonjour.wav", seconds=0.25)
    out = shape.client.audio.translations.create(
        model="whisper", file=(tmp_path / "bonjour.wav"), response_format="text"
    )
    assert isinstance(out, str)
    assert f"bonjour.wav: {_fingerprint(data)}, by whisper-dep" in out
    verbose = shape.client.audio.transcriptions.create(
        model="whisper", file=(tmp_path / "bonjour.wav"), response_format="verbose_json"
    )
    # Whisper reports the duration; the mock reads it from the WAV header.
    assert abs(verbose.duration - 0.25) < 0.01


def test_streamed_transcription(shape: Shape, recorder: harness.Mock, tmp_path: Path) -> None:
    data = _wav(tmp_path / "s.wav")
    stream = shape.client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=(tmp_path / "s.wav"), stream=True
    )
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[-1] == "transcript.text.done", kinds
    assert "transcript.text.delta" in kinds
    done = events[-1]
    assert done.text == "".join(e.delta for e in events if e.type == "transcript.text.delta")
    assert _fingerprint(data) in done.text
    assert done.usage is not None and done.usage.total_tokens > 0
    rec = _only(recorder.requests(), "/audio/transcriptions")
    # An `azure-v1` upstream reads the deployment from the form.
    assert rec["path"] == "/openai/v1/audio/transcriptions"
    assert rec["headers"].get("authorization") == f"Bearer {UPSTREAM_TOKEN}"


def test_speech_whole_and_streamed(shape: Shape, recorder: harness.Mock) -> None:
    text = "The gateway streams audio."
    whole = shape.client.audio.speech.create(
        model="tts", voice="alloy", input=text, response_format="wav"
    )
    audio = whole.read()
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    with wave.open(io.BytesIO(audio)) as w:
        assert w.getnframes() > 0
    with shape.client.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input=text
    ) as resp:
        assert resp.headers["content-type"] == "audio/mpeg"
        chunks = list(resp.iter_bytes())
    assert sum(len(c) for c in chunks) > 0
    recs = [r for r in recorder.requests() if r["path"].endswith("/audio/speech")]
    assert [r["path"] for r in recs] == ["/openai/deployments/tts-dep/audio/speech"] * 2


def test_image_edit(shape: Shape, recorder: harness.Mock) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    out = shape.client.images.edit(
        model="gpt-image-1", image=("in.png", png, "image/png"), prompt="add a hat"
    )
    assert out.data and out.data[0].b64_json
    assert out.data[0].revised_prompt and "gpt-image-1-dep" in out.data[0].revised_prompt
    assert str(len(png)) in out.data[0].revised_prompt
    rec = _only(recorder.requests(), "/images/edits")
    assert rec["path"] == "/openai/v1/images/edits"
