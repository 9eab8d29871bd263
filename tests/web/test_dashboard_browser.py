"""The dashboard in real headless Chromium: Chart.js (served from static/) draws every chart, and a
click on a bar opens the inventory filtered on it."""

from __future__ import annotations

import pytest

from tests.web.test_browser import browser, log_in, pytestmark, shot  # noqa: F401 (fixture and markers)

COUNT_PAINTED_PIXELS = """() => [...document.querySelectorAll('canvas.chart')].map((canvas) => {
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) if (pixels[alpha]) painted++;
  return [canvas.closest('figure').id, painted];
})"""

MIDDLE_OF_FIRST_BAR = """() => {
  const bar = document.querySelector('#resources-by-type canvas').chart.getDatasetMeta(0).data[0];
  return {x: bar.x, y: (bar.y + bar.base) / 2};
}"""


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_draws_its_charts_and_a_bar_opens_the_filtered_inventory(browser, live_server, users, evaluated):  # noqa: F811
    errors: list[str] = []
    page = log_in(browser, live_server, "admin")
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.reload()
    page.wait_for_function("[...document.querySelectorAll('canvas.chart')].every((canvas) => canvas.chart)")
    painted = dict(page.evaluate(COUNT_PAINTED_PIXELS))
    assert set(painted) >= {"pack-scores", "findings-by-severity", "resources-by-type", "clouds-by-status"}
    assert all(count > 200 for count in painted.values()), painted
    assert not errors
    shot(page, "dashboard-charts")

    page.locator("#resources-by-type canvas").click(position=page.evaluate(MIDDLE_OF_FIRST_BAR))
    page.wait_for_url("**/inventory/?resource_type=storage_container")
    rows = page.locator("#inventory-table tbody tr")
    assert rows.count() == 3  # the three buckets of Acme and Globex, all a domain admin sees
    assert all("storage_container" in text for text in rows.all_inner_texts())
    shot(page, "dashboard-to-inventory")
