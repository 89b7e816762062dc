"""Starts the real `mock-azure` and `aoai-gateway` binaries on 127.0.0.1, port 0.

Each process prints one line when it is ready (`mock-azure listening on http://…`,
`aoai-gateway listening on http://…`); the harness reads that line, never sleeps, and stops
the process at the end of the session (SIGINT for the mock, SIGTERM for the gateway, SIGKILL
after a grace period).
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

CLIENT_KEY = "sk-e2e"
UPSTREAM_KEY = "upstream-key"
UPSTREAM_TOKEN = "upstream-token"
ENGINE_KEY = "engine-key"

START_TIMEOUT_S = 30.0

CHAT_ONLY_DEPLOYMENT = "chat-only-engine"

# What mock-azure answers by default: five deltas that read MOCK_TEXT, and these token counts.
MOCK_TEXT = "Hello from mock-azure — héllo 🌍."
MOCK_PROMPT_TOKENS = 11
MOCK_COMPLETION_TOKENS = 7
MOCK_TOTAL_TOKENS = 18
MOCK_EMBEDDING_DIMENSIONS = 8

# Variables that would change what the binaries or the SDKs do; the suites set everything
# explicitly instead.
_SCRUBBED_PREFIXES = ("AZURE_", "UPSTREAM_", "GATEWAY_", "OPENAI_", "OTEL_", "ADMIN_LOG_", "LOG_")
_SCRUBBED_NAMES = ("CONFIG_PATH", "BODY_LIMIT", "SERVER_BODY_LIMIT", "MAX_UPLOAD_BYTES")


def clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES
    }
    env["LOG_LEVEL"] = "warn"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def binary(var: str) -> str:
    """The binary named by `var`; a missing one is an error, never a skip."""
    path = os.environ.get(var)
    if not path:
        raise RuntimeError(f"{var} is not set; run the suites through e2e/run")
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(f"{var}={path} is not an executable file; build it with e2e/run")
    return path


_RUNNING: list["Process"] = []


@atexit.register
def _kill_leftovers() -> None:
    # Session teardown stops everything; this only catches an interpreter that exits early.
    for process in list(_RUNNING):
        if process.proc.poll() is None:
            process.proc.kill()


def _die_with_parent() -> None:
    # Runs in the child before exec: SIGKILL it if the test process dies without its teardown.
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Process:
    """One child process whose stdout is drained on a thread (a full pipe never blocks it).

    The gateway logs on stdout: the last lines are kept for error messages."""

    def __init__(self, name: str, argv: list[str], ready_prefix: str, stop_signal: int, cwd: str):
        self.name = name
        self.stop_signal = stop_signal
        self.stderr_file = tempfile.NamedTemporaryFile(
            prefix=f"e2e-{name}-", suffix=".stderr", delete=False
        )
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            text=True,
            preexec_fn=_die_with_parent,
        )
        _RUNNING.append(self)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._tail: collections.deque[str] = collections.deque(maxlen=200)
        self._ready = False
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            self.base_url = self._wait_ready(ready_prefix)
        except BaseException:
            self.stop()
            raise

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._tail.append(line)
            if not self._ready:
                self._lines.put(line)
        self._lines.put(None)

    def output_tail(self, limit: int = 4000) -> str:
        """The last stdout lines (the log) and stderr, for error messages."""
        return f"stdout:\n{''.join(list(self._tail))[-limit:]}\nstderr:\n{self.stderr_tail(limit)}"

    def stderr_tail(self, limit: int = 4000) -> str:
        try:
            return Path(self.stderr_file.name).read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def _wait_ready(self, prefix: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"{self.name} did not print {prefix!r} within {START_TIMEOUT_S:.0f} s\n"
                    f"{self.output_tail()}"
                )
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                raise RuntimeError(
                    f"{self.name} exited with status {code} before listening\n"
                    f"{self.output_tail()}"
                )
            if line.startswith(prefix):
                self._ready = True
                return line[len(prefix) :].strip()

    def stop(self) -> None:
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr_file.close()
        try:
            os.unlink(self.stderr_file.name)
        except OSError:
            pass


class Mock:
    """`mock-azure --port 0`: any non-empty key is accepted, every request is recorded."""

    def __init__(self, workdir: str):
        self.process = Process(
            "mock-azure",
            # The engine deployment behind `chat-engine` speaks only chat completions, as some
            # OpenAI-compatible engines do (the gateway translates Responses calls for it).
            [binary("MOCK_AZURE_BIN"), "--port", "0", "--chat-only", CHAT_ONLY_DEPLOYMENT],
            "mock-azure listening on ",
            signal.SIGINT,
            workdir,
        )
        self.url = self.process.base_url
        self.http = requests.Session()
        self.http.trust_env = False

    def requests(self) -> list[dict[str, Any]]:
        """Every recorded upstream request (method, path, query, headers, body, …)."""
        r = self.http.get(f"{self.url}/__mock/requests", timeout=10)
        r.raise_for_status()
        return r.json()

    def clear(self) -> None:
        self.http.delete(f"{self.url}/__mock/requests", timeout=10).raise_for_status()

    def stop(self) -> None:
        self.process.stop()


def gateway_config(mock_url: str) -> dict[str, Any]:
    """The suites' gateway config: one upstream of each kind on the same mock, the Azure AI
    Model Inference one (`kind: "inference"`, at the mock's `/models`) serving `Phi-4`."""
    upstreams: list[dict[str, Any]] = [
        {"name": "azure", "baseUrl": mock_url, "kind": "azure", "apiVersion": "2024-10-21"},
        {
            "name": "foundry",
            "baseUrl": f"{mock_url}/models",
            "kind": "inference",
            "apiVersion": "2025-04-01",
        },
        {
            "name": "azure-v1",
            "baseUrl": mock_url,
            "kind": "azure-v1",
            "auth": {"mode": "bearer", "token": UPSTREAM_TOKEN},
        },
        {
            "name": "engine",
            "baseUrl": mock_url,
            "kind": "openai",
            "auth": {"mode": "apiKey", "apiKey": ENGINE_KEY},
        },
    ]
    models: list[dict[str, Any]] = [
        {"id": "gpt-4o", "upstream": "azure"},
        {"id": "gpt-4o-v1", "upstream": "azure-v1", "targetModel": "gpt-4o"},
        {"id": "text-embedding-3-small", "upstream": "azure"},
        {"id": "dall-e-3", "upstream": "azure"},
        {"id": "gpt-35-turbo-instruct", "upstream": "azure"},
        {"id": "Phi-4", "upstream": "foundry"},
        {"id": "llama", "upstream": "engine", "targetModel": "meta-llama/Llama-3.1-8B-Instruct"},
        {"id": "gpt-realtime", "upstream": "azure", "targetModel": "gpt-realtime-dep"},
        {"id": "whisper", "upstream": "azure", "targetModel": "whisper-dep"},
        {"id": "gpt-4o-transcribe", "upstream": "azure-v1", "targetModel": "gpt-4o-transcribe-dep"},
        {"id": "tts", "upstream": "azure", "targetModel": "tts-dep"},
        {"id": "gpt-image-1", "upstream": "azure-v1", "targetModel": "gpt-image-1-dep"},
        # Responses-only on Azure (codex): chat clients are translated to the Responses API.
        {
            "id": "codex",
            "upstream": "azure-v1",
            "targetModel": "gpt-5-codex",
            "routes": {"chat/completions": "responses"},
        },
        # Chat-only engine: Responses clients are translated to chat completions.
        {
            "id": "chat-engine",
            "upstream": "engine",
            "targetModel": CHAT_ONLY_DEPLOYMENT,
            "routes": {"responses": "chat/completions"},
        },
    ]
    return {
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "upstream": {
                "maxRetries": 0,
                "firstByteTimeoutMs": 10000,
                "idleTimeoutMs": 10000,
                "requestTimeoutMs": 30000,
            },
        },
        "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
        "apiKeys": [{"id": "e2e", "key": CLIENT_KEY, "status": "active"}],
        "upstreams": upstreams,
        "models": models,
        # Files, batches and fine-tuning jobs live on this resource.
        "resources": {"upstream": "azure"},
    }


class Gateway:
    """`aoai-gateway serve --config FILE` with the config written to a temp directory."""

    def __init__(self, config: dict[str, Any], name: str = "aoai-gateway"):
        self._dir = tempfile.TemporaryDirectory(prefix="e2e-gateway-")
        path = Path(self._dir.name) / "config.json"
        path.write_text(json.dumps(config, indent=2))
        try:
            self.process = Process(
                name,
                [binary("AOAI_GATEWAY_BIN"), "serve", "--config", str(path)],
                "aoai-gateway listening on ",
                signal.SIGTERM,
                self._dir.name,
            )
        except BaseException:
            self._dir.cleanup()
            raise
        self.url = self.process.base_url

    def stop(self) -> None:
        try:
            self.process.stop()
        finally:
            self._dir.cleanup()
