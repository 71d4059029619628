"""Build app/static/vendor/lucide/sprite.svg from the lucide-static package (run by `make vendor`).

Only the icons named in ICONS go into the sprite, so a page downloads a few kilobytes, not
2,000 icons. Templates draw one with the `icon(name)` macro in `_macros.html`; to add an icon,
add its lucide name here and run `make vendor` (docs/ui.md).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ICONS = (
    "bell", "clipboard-list", "clock", "house", "list-checks", "log-out",
    "map-pin", "menu", "plus", "printer", "settings", "triangle-alert", "truck", "user", "user-x",
    "wrench",
)

STROKE = 'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"'
SVG = re.compile(r"<svg\b[^>]*>(?P<body>.*)</svg>", re.S)
VIEWBOX = re.compile(r'viewBox="(?P<box>[^"]+)"')


def symbol(name: str, source: Path) -> str:
    text = (source / f"{name}.svg").read_text(encoding="utf-8")
    match = SVG.search(text)
    if match is None:
        raise SystemExit(f"{name}.svg has no <svg> element")
    box = VIEWBOX.search(text)
    body = " ".join(line.strip() for line in match.group("body").strip().splitlines())
    # A <use> clone inherits from the <use>, not from this file's root: each symbol carries its stroke.
    return (f'<symbol id="{name}" viewBox="{box.group("box") if box else "0 0 24 24"}" {STROKE}>'
            f"{body}</symbol>")


def main(source: str, target: str) -> None:
    folder = Path(source)
    symbols = "\n".join(symbol(name, folder) for name in ICONS)
    Path(target).write_text(
        "<!-- lucide-static icons (ISC licence, see LICENSE); built by scripts/icon_sprite.py -->\n"
        f'<svg xmlns="http://www.w3.org/2000/svg">\n{symbols}\n</svg>\n',
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
