"""The Reports page in Chromium over the hand-computed fixture (tests/fixtures/reports.py): the nav entry, each
report's table with the fixture's figures, charts told apart by pattern and dash (not colour alone), the range and
filters held in the URL, a CSV download equal to its table, a bad range shown by field; screenshots for the README."""
import csv
import io
import re
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import sessionmaker

from shared.testing import test_database_url as database_url
from tests.fixtures.reports import FROM, TO, make_tickets, rate
from tests.fixtures.ui import SCREENSHOTS

pytestmark = pytest.mark.browser
RANGE = f"from={FROM}&to={TO}"


@pytest.fixture(scope="module")
def tickets_sessions():
    engine = sa.create_engine(database_url("deskline_ui_tickets"))
    yield sessionmaker(bind=engine)
    engine.dispose()


@pytest.fixture
def on_reports(page, ui_stack, ui_tenant):
    """Ben (not an admin: reports are every agent's) signed in through the form, sent on to the Reports page."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(ui_stack.url("/agent/reports"))
    page.fill("#email", ui_tenant.ben.email)
    page.fill("#password", ui_tenant.ben.password)
    page.click("#login-submit")
    expect(page).to_have_url(ui_stack.url("/agent/reports"))
    expect(page.locator("a[data-nav=reports]")).to_have_attribute("aria-current", "page")
    expect(page.locator("a[data-nav=reports]")).to_have_text("Reports")
    return page


@pytest.fixture
def reports_page(on_reports, ui_stack, ui_tenant, tickets_sessions):
    with tickets_sessions() as session:
        rate(session, make_tickets(session, acme=ui_tenant.client_id, globex=str(uuid.uuid4()),
                                   alice=ui_tenant.ann.email, bob=ui_tenant.ben.email))
    page = on_reports
    page.goto(ui_stack.url(f"/agent/reports?{RANGE}"))
    expect(page.locator("body")).to_have_attribute("data-reports-loaded", "true", timeout=10_000)
    return page


def cells(page, table, row):
    return page.locator(f"#{table} tbody tr").nth(row).locator("th, td")


def test_the_reports_show_the_fixtures_figures_with_charts_and_tables(reports_page, ui_tenant):
    page = reports_page
    expect(page.locator("#r-from")).to_have_value(FROM)
    expect(page.locator("#volume-summary")).to_have_text("7 created, 6 resolved; backlog 2 at the start, 3 at the end.")
    expect(page.locator("#volume-table tbody tr")).to_have_count(3)
    expect(cells(page, "volume-table", 1)).to_have_text([re.compile("Nov"), "3", "2", "4"])
    # All tickets: first replies 45 min median, 1 h 45 min p90; resolutions 4 h, 1 d.
    expect(page.locator("#times-priority tbody tr.total").locator("th, td")).to_have_text(
        ["All tickets", "7", "6", "45 min", "1 h 45 min", "5", "4 h", "1 d"])
    expect(page.locator("#times-agent tbody tr").nth(0).locator("th")).to_have_text(ui_tenant.ann.email)
    expect(page.locator("#times-agent tbody tr").nth(2).locator("th")).to_have_text("Unassigned")
    expect(page.locator("#times-channel tbody th", has_text="Web form")).to_have_count(1)
    expect(page.locator("#sla-table tbody tr.total").locator("th, td")).to_have_text(
        ["All priorities", "7", "5", "2", "71.4 %", "4", "3", "57.1 %"])
    expect(page.locator("#csat-score")).to_have_text("Score: 60 % good, of 5 rated tickets.")
    expect(page.locator("#csat-table tbody tr").locator("th")).to_have_text(["Good", "Okay", "Bad"])
    # Each chart is drawn, and its series differ by more than colour: patterns, dashes, point shapes, labels.
    charts = page.evaluate("""() => Object.fromEntries(['volume-chart', 'sla-chart', 'csat-chart'].map((id) => {
        const chart = Chart.getChart(document.getElementById(id));
        return [id, chart && chart.data.datasets.map((d) => ({
            label: d.label, type: d.type || chart.config.type, dash: d.borderDash || [], point: d.pointStyle || null,
            patterned: [].concat(d.backgroundColor).map((fill) => fill instanceof CanvasPattern)}))];
    }))""")
    volume = charts["volume-chart"]
    assert [d["label"] for d in volume] == ["Created (solid)", "Resolved (striped)", "Backlog (dashed, squares)"]
    assert volume[1]["patterned"] == [True] and volume[2]["dash"] == [6, 4] and volume[2]["point"] == "rect"
    assert charts["sla-chart"][1]["patterned"] == [True]
    assert charts["csat-chart"][0]["patterned"] == [False, True, True]
    page.screenshot(path=SCREENSHOTS / "reports.png", full_page=True, animations="disabled")


def test_filters_live_in_the_url_and_csv_downloads_equal_the_table(reports_page, ui_stack):
    page = reports_page
    page.select_option("#r-priority", "high")
    page.click("#r-apply")
    expect(page).to_have_url(re.compile(rf"\?from={FROM}&to={TO}&priority=high$"))
    expect(page.locator("body")).to_have_attribute("data-reports-loaded", "true", timeout=10_000)
    # high: T5, T9 created; T1, T9 resolved; T1 open before the range.
    expect(page.locator("#volume-summary")).to_have_text("2 created, 2 resolved; backlog 1 at the start, 1 at the end.")
    page.reload()
    expect(page.locator("#r-priority")).to_have_value("high")
    expect(page.locator("#volume-summary")).to_contain_text("2 created")

    with page.expect_download() as info:
        page.click("#sla .btn-csv")
    download = info.value
    assert download.suggested_filename == f"sla_{FROM}_{TO}.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0][:3] == ["priority", "tickets", "first_response_met"]
    shown = page.locator("#sla-table tbody tr")
    expect(shown).to_have_count(len(rows) - 1)
    assert [row[:4] for row in rows[1:]] == [["high", "2", "2", "0"], ["all", "2", "2", "0"]]
    expect(shown.nth(0).locator("th, td")).to_have_text(["High", "2", "2", "0", "100 %", "1", "1", "50 %"])

    with page.expect_download() as info:
        page.click("#response-times .btn-csv[data-by=agent]")
    assert info.value.suggested_filename == f"response-times-by-agent_{FROM}_{TO}.csv"


def test_a_bad_range_is_shown_by_field(on_reports, ui_stack):
    page = on_reports
    page.goto(ui_stack.url("/agent/reports?from=2026-11-05&to=2026-11-04"))
    expect(page.locator("#reports-alert")).to_contain_text("to: must not be before from")
    expect(page.locator("#r-to")).to_have_attribute("aria-invalid", "true")
