"""Redaction before anything leaves for an LLM: every planted canary is removed."""

from __future__ import annotations

import pytest

from bot.core.redact import redact
from tests.canaries import canaries

CANARIES = canaries()


def test_removes_every_canary_from_its_carrier_text() -> None:
    leaked = [secret for secret, text in CANARIES if secret in redact(text)]
    assert leaked == []


def test_removes_canaries_inside_a_longer_log_line() -> None:
    line = " | ".join(text for _, text in CANARIES[:40])
    cleaned = redact(f"[2024-03-15 14:30:22] [ERROR] [MODEL_INFER] [node_03] {line}")
    assert [s for s, _ in CANARIES[:40] if s in cleaned] == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("xoxb-123456789012-abcdefghijklmnop", "slack_token"),
        ("key AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("https://alice:hunter22@example.com/x", "url_password"),
        ("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "private_key"),
        ("Authorization: Bearer abcdefghijklmnop123", "bearer_token"),
        ("checksum_ref=Zk8Qm2Lr7Xv4Tn9Wb3Hc", "high_entropy"),
        ("ref: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "high_entropy"),
        ("session=ab12/XyZ9+QrStUvWx/Kl", "high_entropy"),
    ],
)
def test_names_the_kind_of_secret_it_removed(text: str, kind: str) -> None:
    assert f"[REDACTED:{kind}]" in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "p99 time to first token of llama-70b on gpu-node-1 is 0.312 s",
        "GPU 3 on gpu-node-2 at 97% utilisation",
        "image vllm/vllm-openai:v0.6.3 → v0.6.4 rolled out to vllm-llama-70b",
        "uuid=GPU-1b2c3d4e model_name=NVIDIA H100 80GB HBM3",
        "Input tensor shape mismatch in layer 12; retrying batch 7",
        "metric=gpuwarden_gpu_process_memory_used_bytes rose with the trigger",
        "deployment: serving/deepseek-v3-blue-canary, rule=gpu_memory_leak_rate_high",
    ],
)
def test_keeps_ordinary_operational_text(text: str) -> None:
    assert redact(text) == text


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact("password=hunter2hunter2 token xoxb-123456789012-abcdefghijkl")
    assert redact(once) == once
