"""The admin's plugins page in a real browser: what each plugin provides, readable at 1280 px."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import horizontal_overflow, sign_in

#: Every cell whose content is wider than the cell itself (text cut off or spilling out).
_CLIPPED_CELLS = """
() => [...document.querySelectorAll('main td, main th')]
  .filter((cell) => cell.scrollWidth > cell.clientWidth + 1)
  .map((cell) => cell.textContent.trim().slice(0, 60))
"""


def test_the_plugins_page_names_what_each_plugin_provides_without_clipping_at_1280_px(
    desktop, live_server, live_data, shot
):
    sign_in(desktop, live_data.admin())
    desktop.goto("/admin/plugins")
    expect(desktop.get_by_role("heading", name="Plugins")).to_be_visible()

    trailers = desktop.locator('tr[data-plugin="trailers"]')
    expect(trailers).to_contain_text("motorpool-trailers")
    expect(trailers).to_contain_text("Trailer inspection (trailer_inspections)")
    expect(trailers).to_contain_text("nearest")
    expect(trailers).to_contain_text("MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_TIMEOUT")
    matcher = desktop.get_by_role("row").filter(has_text="app.plugins.builtin.weighted_matcher")
    expect(matcher).to_contain_text("built in")
    expect(matcher).to_contain_text("weighted")
    notifiers = desktop.get_by_role("row").filter(has_text="app.plugins.builtin.notifiers")
    expect(notifiers).to_contain_text("console, log_file")
    shot(desktop, "plugins-1280")

    assert horizontal_overflow(desktop) == 0
    scroll = desktop.locator("main .scroll").first
    assert scroll.evaluate("(box) => box.scrollWidth - box.clientWidth") <= 0, "the table scrolls sideways"
    assert desktop.evaluate(_CLIPPED_CELLS) == []
