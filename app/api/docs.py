"""``/api/v1/docs``: Swagger UI from app/static/vendor, started by a static script (CSP: self only)."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("api_docs", __name__)  # a page, not a resource: left out of the OpenAPI document
URL_PREFIX = ""


@blp.get("/docs")
def docs():
    return render_template("api/docs.html")
