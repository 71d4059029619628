"""OpenAPI links: which operation a response leads to, and with which of its values.

A client (and the fuzzer's stateful phase) follows them: the dispatch a POST created is read,
changed, moved and assigned with the number and ETag that answer gave. A link names its target
by ``operationRef`` (a JSON pointer into the document's paths), since operations carry no id.
"""

from __future__ import annotations

from app.api import PREFIX

#: The answer's ETag, for the target's ``If-Match``: a change right after reading (or creating).
IF_MATCH = {"header.If-Match": "$response.header.ETag"}


def link(path: str, method: str, description: str, parameters: dict[str, str]) -> dict:
    """A link to ``method`` ``path`` (below /api/v1); ``parameters``: target parameter → runtime expression."""
    pointer = (PREFIX + path).replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "description": description,
            "parameters": dict(parameters)}


def responses(status: int, **links: dict) -> dict:
    """``blp.doc(**responses(…))``: ``links`` on the ``status`` answer documented by ``blp.response``."""
    return {"responses": {status: {"links": links}}}
