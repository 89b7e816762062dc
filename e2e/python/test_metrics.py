"""`/metrics` read with Prometheus' own text-format parser (the official `prometheus_client`),
while the official openai SDK sends JSON and streamed chats through the gateway.

The gateway here has its own config: the session gateway has no admin password, so its
`/metrics` (admin auth by default) is closed; this one uses `auth: bearer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests
from openai import OpenAI
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

import harness
from harness import CLIENT_KEY, MOCK_COMPLETION_TOKENS, MOCK_PROMPT_TOKENS

TOKEN = "e2e-metrics-token-5d1e"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MESSAGES = [{"role": "user", "content": "Hello"}]

Families = dict[str, Metric]


@pytest.fixture(scope="module")
def metered(mock: harness.Mock) -> Iterator[harness.Gateway]:
    config = harness.gateway_config(mock.url)
    config["server"]["metrics"] = {"auth": "bearer", "bearerToken": TOKEN}
    g = harness.Gateway(config, name="aoai-gateway-metrics")
    try:
        yield g
    finally:
        g.stop()


def http() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def scrape(gw: harness.Gateway) -> Families:
    r = http().get(f"{gw.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == CONTENT_TYPE
    # The official parser raises on any line that is not valid exposition.
    families = list(text_string_to_metric_families(r.text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), "a family is declared twice"
    return {f.name: f for f in families}


def total(families: Families, family: str, sample: str, **labels: str) -> float:
    """The sum of `sample` in `family` over the series carrying every label given."""
    return sum(
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def until(gw: harness.Gateway, pred: Callable[[Families], bool]) -> Families:
    """Scrapes until `pred` holds (a request is recorded when its body ends, a moment after
    the client read it); returns the last scrape either way."""
    deadline = time.monotonic() + 5
    while True:
        families = scrape(gw)
        if pred(families) or time.monotonic() > deadline:
            return families
        time.sleep(0.02)


def assert_histograms_consistent(families: Families) -> None:
    """Cumulative buckets never decrease and `+Inf` equals `_count`, per series."""
    for f in families.values():
        if f.type != "histogram":
            continue
        series: dict[tuple, list[tuple[float, float]]] = {}
        counts: dict[tuple, float] = {}
        for s in f.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            if s.name.endswith("_bucket"):
                series.setdefault(key, []).append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                counts[key] = s.value
        for key, buckets in series.items():
            buckets.sort()
            values = [v for _, v in buckets]
            assert values == sorted(values), (f.name, key, buckets)
            assert buckets[-1][0] == float("inf"), (f.name, key)
            assert buckets[-1][1] == counts[key], (f.name, key)


def test_sdk_traffic_shows_in_a_valid_exposition(metered: harness.Gateway) -> None:
    fresh = scrape(metered)
    assert fresh["aoai_gateway_requests"].type == "counter"
    assert fresh["aoai_gateway_tokens"].type == "counter"
    assert fresh["aoai_gateway_overhead_seconds"].type == "histogram"
    assert fresh["aoai_gateway_requests_in_flight"].type == "gauge"
    assert total(fresh, "aoai_gateway_requests", "aoai_gateway_requests_total") == 0
    build = fresh["aoai_gateway_build_info"].samples[0]
    assert build.value == 1 and build.labels["version"]
    assert fresh["process_resident_memory_bytes"].samples[0].value > 0

    client = OpenAI(base_url=f"{metered.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.usage is not None
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass

    requests_total = ("aoai_gateway_requests", "aoai_gateway_requests_total")
    f = until(metered, lambda f: total(f, *requests_total) >= 2)
    ok = {"model": "gpt-4o", "operation": "chat/completions", "status": "200", "error_class": ""}
    assert total(f, *requests_total, **ok) == 2
    tokens = ("aoai_gateway_tokens", "aoai_gateway_tokens_total")
    assert total(f, *tokens, key="e2e", model="gpt-4o", type="prompt") == 2 * MOCK_PROMPT_TOKENS
    assert (
        total(f, *tokens, key="e2e", model="gpt-4o", type="completion")
        == 2 * MOCK_COMPLETION_TOKENS
    )
    ttft = "aoai_gateway_time_to_first_token_seconds"
    assert total(f, ttft, f"{ttft}_count", model="gpt-4o") == 1
    duration = "aoai_gateway_request_duration_seconds"
    assert total(f, duration, f"{duration}_count", model="gpt-4o") == 2
    in_flight = "aoai_gateway_requests_in_flight"
    assert total(f, in_flight, in_flight) == 0
    dropped = "aoai_gateway_ledger_rows_dropped"
    assert total(f, dropped, f"{dropped}_total") == 0
    assert_histograms_consistent(f)


def test_a_scrape_without_the_token_is_refused(metered: harness.Gateway) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = http().get(f"{metered.url}/metrics", headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "metrics_unauthorized"
        assert r.headers["www-authenticate"].startswith("Bearer")
