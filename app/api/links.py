"""OpenAPI links: which operation a response leads to, and with which of its values.

A client (and the fuzzer's stateful phase) follows them: the dispatch a POST created is read,
changed, moved and assigned with the number and ETag that answer gave. A link names its target
by ``operationRef`` (a JSON pointer into the document's paths), since operations carry no id.
"""

from __future__ import annotations

from app.api import PREFIX

#: The answer's ETag, for the target's If-Match: a change right after reading (or creating).
ETAG = "$response.header.ETag"


def link(path: str, method: str, description: str, **parameters: str) -> dict:
    """A link to ``method`` ``path`` (below /api/v1); ``parameters``: target name → runtime expression.

    A name ``header__If_Match`` stands for the header ``If-Match`` (``header.If-Match``).
    """
    pointer = (PREFIX + path).replace("~", "~0").replace("/", "~1")
    names = {name.replace("__", ".").replace("_", "-") if name.startswith("header__") else name: value
             for name, value in parameters.items()}
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "description": description, "parameters": names}


def responses(status: int, **links: dict) -> dict:
    """``blp.doc(responses=…)`` adding ``links`` to the ``status`` answer documented by ``blp.response``."""
    return {"responses": {status: {"links": links}}}
