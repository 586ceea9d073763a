"""The whole path in a real browser: log in, find a P1 alert, assign it, draft a 政策解读
with a suggested policy document, submit, log in as approver, approve, publish to two
channels, see it in the output log and its export. Screenshots of the walk go to the test's
tmp_path (docs/*.png, the README's, are shot from the demo data by scripts/screenshots.py)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_desk_api import PASSWORDS

expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect

pytestmark = pytest.mark.browser


def log_in(page: Any, url: str, name: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#login-submit")
    page.wait_for_selector("#me-name")
    assert page.inner_text("#me-name") == name
    page.goto(url + "/")  # the landing page is the overview; these walks start in the queue


def test_officer_to_approver_to_output_log(desk_url: str, browser: Any,
                                           tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    log_in(page, desk_url, "wang")
    # (page.wait_for_function would need eval, which the desk's CSP forbids: good.)
    # The queue: P1 first; htmx narrows it when a filter changes.
    assert page.locator("#queue-rows tr").first.get_attribute("class").startswith("p1")
    page.select_option("select[name=priority]", "P1")
    expect(page.locator("#queue-rows tr")).to_have_count(1)
    page.select_option("select[name=priority]", "")
    expect(page.locator("#queue-rows tr")).to_have_count(3)
    page.screenshot(path=str(shots / "queue.png"), full_page=True)

    page.click("#queue-rows tr.p1 a.alert-link")
    page.wait_for_selector("#alert-state")
    assert page.get_attribute("#alert-state", "data-state") == "new"
    page.select_option("#assignee-select", "wang")
    page.click("#act-assign")
    page.wait_for_selector("#alert-state[data-state=assigned]")
    assert page.inner_text("#alert-assignee") == "wang"
    page.screenshot(path=str(shots / "alert.png"), full_page=True)

    # Draft a 政策解读 citing the first suggested document (the rehab-visits notice).
    page.select_option("#draft-kind", "政策解读")
    first = page.locator("label.policy").first
    cited = first.inner_text()
    assert "豫戒〔2019〕27号" in cited
    first.locator("input").check()
    page.click("#act-draft")
    page.wait_for_selector("#output-state[data-state=draft]")
    body = page.input_value("#output-body")
    assert "豫戒〔2019〕27号" in body
    # The template's places for the officer (【待填写：…】) are written before it can go out.
    assert "【待填写" in body
    page.fill("#output-body", re.sub(r"【待填写[^】]*】", "经核实，已依规办理。", body)
              + "\n（经办人已核对事实。）")
    page.click("#act-submit")
    page.wait_for_selector("#output-state[data-state=submitted]")
    output_url = page.url
    assert page.locator("#act-approve").count() == 0  # officers cannot approve
    page.click("#logout")

    log_in(page, desk_url, "li")
    page.goto(output_url)
    assert "经办人已核对事实" in page.inner_text("#output-body")
    page.click("#act-approve")
    page.wait_for_selector("#output-state[data-state=approved]")
    page.check("input[name=channel][value=门户网站]")
    page.check("input[name=channel][value=微信公众号]")
    page.fill("#publish-link", "https://sft.henan.gov.cn/2024/05/06/zcjd.html")
    page.click("#act-publish")
    page.wait_for_selector("#output-state[data-state=published]")
    assert page.locator("#publications li").count() == 2

    page.goto(desk_url + "/log")
    rows = page.locator("#output-log tbody tr")
    assert rows.count() == 2
    assert {rows.nth(i).locator("td").nth(1).inner_text() for i in range(2)} == {
        "门户网站", "微信公众号"}
    with page.expect_download() as dl:
        page.click("#export-csv")
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["发布渠道"] for r in exported) == ["微信公众号", "门户网站"]  # Chinese headers
    assert {r["类别"] for r in exported} == {"政策解读"} and exported[0]["审核人"] == "li"
    with page.expect_download() as dl:
        page.click("#export-json")
    assert len(json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))) == 2
    # The CSP let everything the desk needs load: no violations reported.
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_hostile_post_is_inert_in_the_browser(desk_url: str, browser: Any) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, desk_url, "wang")
    page.select_option("select[name=priority]", "P3")
    expect(page.locator("#queue-rows tr")).to_have_count(1)
    page.click("#queue-rows a.alert-link")
    page.wait_for_selector("#post-text")
    assert "点我看真相" in page.inner_text("#post-text")
    assert page.locator("#post-text script, #post-text img, #post-text svg").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    page.click("#post-text a") if page.locator("#post-text a").count() else None
    assert dialogs == []
