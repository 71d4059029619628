"""Helpers for the API tests: a token per person, and requests that carry it."""

from __future__ import annotations

from app.services import api_tokens


def token_for(user, name: str = "tests") -> str:
    return api_tokens.create_token(user, name).secret


def bearer(secret: str, **headers) -> dict:
    return {"Authorization": f"Bearer {secret}", **headers}


def assert_problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"], body
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


def send(app, method: str, path: str, secret: str, body=None, **headers):
    """A request with the token; a PATCH or DELETE reads the ETag first, as a client does, unless
    ``If_Match`` is given (header names with ``_`` for ``-``)."""
    client = app.test_client()
    if method in ("PATCH", "DELETE") and "If_Match" not in headers:
        headers["If_Match"] = client.get(path, headers=bearer(secret)).headers.get("ETag", "")
    return client.open(path, method=method, headers=bearer(secret, **{k.replace("_", "-"): v for k, v in headers.items()}),
                       json=body)
