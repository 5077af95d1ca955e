"""The LLM stand-in answers as OpenAI's API does, and fails when told to."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from sandbox.llm import DEFAULT_API_KEY, DEFAULT_MODELS, create_app

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
BODY = {"model": DEFAULT_MODELS[0], "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture
def client():
    with TestClient(create_app()) as client:
        yield client


def test_lists_its_models(client: TestClient) -> None:
    answer = client.get("/v1/models", headers=AUTH).json()
    assert [m["id"] for m in answer["data"]] == list(DEFAULT_MODELS)


def test_rejects_a_wrong_key_as_openai_does(client: TestClient) -> None:
    answer = client.post("/v1/chat/completions", json=BODY, headers={"Authorization": "Bearer x"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**BODY, "model": "nope"}, 404, "model_not_found"),
        ({"messages": BODY["messages"]}, 400, "missing_model"),
        ({**BODY, "messages": []}, 400, "invalid_messages"),
    ],
)
def test_rejects_malformed_requests(client: TestClient, body: dict, status: int, code: str) -> None:
    answer = client.post("/v1/chat/completions", json=body, headers=AUTH)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_echo_mode_and_token_cap(client: TestClient) -> None:
    client.post("/_sandbox/config", json={"mode": "echo"})
    answer = client.post("/v1/chat/completions", json=BODY, headers=AUTH).json()
    assert answer["choices"][0]["message"]["content"] == "hello there"
    assert answer["usage"]["total_tokens"] > 0
    capped = client.post("/v1/chat/completions", json={**BODY, "max_tokens": 1}, headers=AUTH)
    choice = capped.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "hell"


def test_scripted_answers_and_queued_failures_come_in_order(client: TestClient) -> None:
    client.post("/_sandbox/script", json={"answers": ["one"]})
    client.post("/_sandbox/failures", json={"failures": [{"kind": "status", "status": 503}]})
    first = client.post("/v1/chat/completions", json=BODY, headers=AUTH)
    second = client.post("/v1/chat/completions", json=BODY, headers=AUTH)
    assert first.status_code == 503
    assert second.json()["choices"][0]["message"]["content"] == "one"
    client.post("/_sandbox/failures", json={"failures": [{"kind": "malformed"}]})
    with pytest.raises(json.JSONDecodeError):
        client.post("/v1/chat/completions", json=BODY, headers=AUTH).json()


def test_records_requests_without_the_key(client: TestClient) -> None:
    client.post("/v1/chat/completions", json=BODY, headers=AUTH)
    [request] = client.get("/_sandbox/requests").json()
    assert json.loads(request["raw"]) == BODY
    assert "authorization" not in request["headers"]
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/requests").json() == []


def test_evidence_mode_answers_in_the_shape_asked_for(client: TestClient) -> None:
    system = (
        'Answer with JSON of this shape: {"what_happened": string, "open_questions": [strings]}'
    )
    data = {
        "incident": {"title": "GPU 2 leaks"},
        "timeline": [{"id": "T4", "kind": "incident.opened", "text": "x"}],
    }
    user = f"Summarise.\n\n<<<DATA abc>>>\n{json.dumps(data)}\n<<<END DATA abc>>>"
    body = {
        **BODY,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
    }
    answer = client.post("/v1/chat/completions", json=body, headers=AUTH).json()
    content = json.loads(answer["choices"][0]["message"]["content"])
    assert content["what_happened"] == "GPU 2 leaks [T4]"
    assert isinstance(content["open_questions"], list)
