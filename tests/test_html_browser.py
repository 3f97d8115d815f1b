"""The HTML report of every example, opened in a real headless Chromium.

What a reviewer relies on: every step and every dated event of the plan is on the page (each
date is found here from the plan document itself, not from the renderer's own list), each mark
is drawn inside the chart and names itself on hover, the month ends are on the axis, the page
logs no console error and asks for nothing but itself, and it has a dark scheme and prints.
A screenshot (light and dark) and a PDF of each report go to a folder this test prints:
.reconciler/html-reports/ (git ignores it; a CI job may keep it as an artifact).
"""

from __future__ import annotations

import base64
import calendar
import json
import re
import shutil
from collections import Counter
from datetime import date

import pytest

from reconciler.render import RENDERERS
from scripts.render_examples import ROOT, examples, plan_document
from tests.browser import Browser, available

EXAMPLES = examples()
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MARKS = """return [...document.querySelectorAll('svg.timeline g.mark')].map(g => {
  const box = g.getBoundingClientRect(), chart = g.ownerSVGElement.getBoundingClientRect();
  return {date: g.dataset.date, kind: g.dataset.kind, count: Number(g.dataset.count),
          steps: g.dataset.steps ? g.dataset.steps.split(' ') : [], title: g.querySelector('title').textContent,
          inside: box.width > 0 && box.left >= chart.left && box.right <= chart.right
                  && box.top >= chart.top && box.bottom <= chart.bottom};
});"""
ROWS = """return [...document.querySelectorAll('#events tbody tr')].map(
  tr => ({date: tr.dataset.date, kind: tr.dataset.kind, step: tr.dataset.step || null}));"""


@pytest.fixture(scope="module")
def browser():
    available()
    chromium = Browser()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def shots(pytestconfig):
    folder = ROOT / ".reconciler" / "html-reports"  # git ignores .reconciler/; each run starts it afresh
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with pytestconfig.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\nHTML reports, their screenshots and PDFs: {folder}", flush=True)
    return folder


def dates_in(doc: dict) -> set[str]:
    """Every date the plan document holds from its plan date on: fields and messages alike."""
    found = set(DATE.findall(json.dumps([doc["steps"], doc["diagnostics"], (doc["summary"] or {}).get("costs")])))
    return {day for day in found if day >= doc["today"]}


def month_ends(start: str, last: str) -> set[str]:
    first, end = date.fromisoformat(start), date.fromisoformat(last)
    ends = set()
    for year in range(first.year, end.year + 1):
        for month in range(1, 13):
            day = date(year, month, calendar.monthrange(year, month)[1])
            if first <= day <= end:
                ends.add(day.isoformat())
    return ends


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_the_report_of_every_example_in_a_real_browser(example, browser, shots, monkeypatch):
    monkeypatch.chdir(ROOT)
    doc = plan_document(example)
    page = shots / f"{example.name}.html"
    page.write_text(RENDERERS["html"](doc), encoding="utf-8")
    visit = browser.open(page)
    driver = browser.driver

    assert visit.errors == []
    assert visit.requests and set(visit.requests) == {page.as_uri()}, visit.requests
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0

    rows = {row.get_attribute("data-step"): row.text for row in driver.find_elements("css selector", "tr.step")}
    assert sorted(rows, key=int) == [str(step["id"]) for step in doc["steps"]]
    for step in doc["steps"]:
        text = rows[str(step["id"])]
        assert step["action"] in text and (step["pbx"] or "") in text
        assert (step["not_before"] or "") in text and step["customer"] in driver.find_element(
            "css selector", f'article[data-customer="{step["customer"]}"] h3').text

    marks = driver.execute_script(MARKS)
    assert all(mark["inside"] for mark in marks), [m for m in marks if not m["inside"]]
    assert all(mark["title"].startswith(mark["date"] + ": ") for mark in marks)
    on_chart = {mark["date"] for mark in marks}
    assert dates_in(doc) - {doc["today"]} <= on_chart  # every later date in the plan is a mark
    drawn = [(m["date"], m["kind"], step) for m in marks for step in m["steps"]]
    dated = [step for step in doc["steps"] if step["status"] != "blocked" or step["not_before"]]
    assert sorted(drawn) == sorted((s["not_before"] or doc["today"], s["status"], str(s["id"])) for s in dated)
    listed, marked = driver.execute_script(ROWS), Counter()  # the text equivalent: a row per event of each mark
    for mark in marks:
        marked[mark["date"], mark["kind"]] += mark["count"]
    assert Counter((row["date"], row["kind"]) for row in listed) == marked
    assert sorted((row["date"], row["kind"], row["step"]) for row in listed if row["step"]) == sorted(drawn)

    if marks:
        axis = {g.get_attribute("data-date") for g in driver.find_elements("css selector", "g.axis-month-end")}
        chart = driver.find_element("css selector", "svg.timeline")
        start, end = chart.get_attribute("data-start"), chart.get_attribute("data-end")
        assert start == doc["today"] and end >= max(on_chart)
        assert axis == month_ends(start, end)
        _hover_names_the_mark(driver)

    browser.screenshot(shots / f"{example.name}.png")
    light = _background(driver)
    browser.emulate(dark=True)
    dark = _background(driver)
    browser.screenshot(shots / f"{example.name}-dark.png")
    browser.emulate(dark=True, paper=True)
    paper = _background(driver)
    browser.emulate()
    assert sum(light) > 600 and sum(dark) < 150  # the page follows the reader's colour scheme
    assert sum(paper) > 600  # but prints dark on white
    pdf = base64.b64decode(driver.print_page())
    assert pdf.startswith(b"%PDF")
    (shots / f"{example.name}.pdf").write_bytes(pdf)
    assert browser.open(page).errors == []


def _hover_names_the_mark(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    mark = driver.find_element("css selector", "svg.timeline g.mark")
    before = driver.execute_script("return getComputedStyle(arguments[0]).strokeWidth", mark)
    ActionChains(driver).move_to_element(mark).perform()
    assert driver.execute_script("return getComputedStyle(arguments[0]).strokeWidth", mark) != before
    assert mark.find_element("css selector", "title").get_attribute("textContent")


def _background(driver) -> tuple[int, ...]:
    color = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    return tuple(int(part) for part in re.findall(r"\d+", color)[:3])


def test_the_checks_catch_a_page_that_reaches_out(browser, shots, monkeypatch, unused_port):
    """The two checks above can fail: a report with its policy removed and an image from a server is caught."""
    monkeypatch.chdir(ROOT)
    html = RENDERERS["html"](plan_document(EXAMPLES[0]))
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    html = html.replace("</body>", f'<img src="http://127.0.0.1:{unused_port}/logo.png" alt=""></body>')
    page = shots / "reaching-out.html"
    page.write_text(html, encoding="utf-8")
    visit = browser.open(page)
    assert f"http://127.0.0.1:{unused_port}/logo.png" in visit.requests
    assert any("logo.png" in error for error in visit.errors)


@pytest.fixture
def unused_port():
    """A port on 127.0.0.1 that nothing listens on: the request fails at once, and never leaves the machine."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
