"""RFC 8288 ``Link`` headers and ``X-Total-Count`` for a page of a list."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

#: The OpenAPI headers of a paged list's answer.
PAGE_HEADERS = {"X-Total-Count": {"description": "How many items match.", "schema": {"type": "integer"}},
                "Link": {"description": "RFC 8288 links: first, last, prev, next.", "schema": {"type": "string"}}}


def link_header(page: int, pages: int, per_page: int) -> str:
    args = {key: value for key, value in request.args.items(multi=True) if key not in ("page", "per_page")}

    def url(number: int) -> str:
        query = urlencode([*args.items(), ("page", number), ("per_page", per_page)])
        return f"<{request.base_url}?{query}>"

    links = [f'{url(1)}; rel="first"', f'{url(pages)}; rel="last"']
    if page > 1:
        links.append(f'{url(page - 1)}; rel="prev"')
    if page < pages:
        links.append(f'{url(page + 1)}; rel="next"')
    return ", ".join(links)


def paged(body: dict, page) -> tuple[dict, int, dict]:
    headers = {"X-Total-Count": str(page.total), "Link": link_header(page.page, page.pages, page.per_page)}
    return body, 200, headers
