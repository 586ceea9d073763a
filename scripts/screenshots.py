"""Re-shoot the README's screenshots of the press desk from the real demo data.

    .venv/bin/python scripts/screenshots.py     # docs/desk-{overview,queue,alert,event,search}.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --keep-home /tmp/demo-home

What it does, each step a real process as a user would run it: `yuqing demo` into a fresh
temporary YUQING_HOME (the bundled feeds polled and analysed through a real worker), the policy
library imported, an officer added, `yuqing web` served on a free port, then Debian's chromium
(Playwright with executable_path=/usr/bin/chromium, nothing downloaded) logs in, shoots the
overview it lands on, the queue, opens a P1 alert (the one whose event chart has the most
bars), assigns it (so its history shows), shoots the alert page with its deadlines and the
reasons it was flagged, then the alert's event page and a search.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as `python scripts/screenshots.py` from anywhere

from tests.support.desk import CHROMIUM, CHROMIUM_ARGS, start_web  # noqa: E402

OFFICER, PASSWORD = "wang", "screenshot-pass-1"


def _yuqing(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "tasks.cli", *args], env=env, cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"yuqing {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    print("yuqing demo …", flush=True)
    print(json.loads(_yuqing(env, "demo", "--json")), flush=True)
    _yuqing(env, "policies", "import", str(ROOT / "config" / "policies"))
    _yuqing(env, "users", "add", OFFICER, "--role", "officer", "--display-name", "王经办",
            stdin=PASSWORD + "\n")
    return env


def serve(env: dict[str, str], home: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = open(home / "web.log", "wb")  # noqa: SIM115 (the child holds it)
    try:
        return start_web(env, log, home / "web.log")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def shoot(url: str, out: Path) -> tuple[Path, ...]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    queue_png, alert_png = out / "desk-queue.png", out / "desk-alert.png"
    overview_png, event_png = out / "desk-overview.png", out / "desk-event.png"
    search_png = out / "desk-search.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900},
                                       locale="zh-CN", device_scale_factor=1).new_page()
            page.goto(url + "/login")
            page.fill("#username", OFFICER)
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("#ov-counts")  # officers land on the overview
            page.screenshot(path=str(overview_png), full_page=True)
            page.goto(url + "/")
            page.wait_for_selector("#queue-rows")
            # The first screenful: the chart, the filters and the top of the queue (the whole
            # demo queue would be a very tall picture).
            page.screenshot(path=str(queue_png))
            # The P1 alert to show: the first whose event has several items (so its chart
            # of volume and sentiment over time shows), else the first P1.
            links = page.locator("#queue-rows tr.p1 a.alert-link")
            hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
            chosen, best = hrefs[0], 0
            for href in hrefs[:30]:
                page.goto(url + str(href))
                # bars drawn, less the three legend swatches
                bars = page.locator("#event-chart rect").count() - 3
                if bars > best:
                    chosen, best = href, bars
            page.goto(url + str(chosen))
            page.wait_for_selector("#alert-state")
            if page.locator("#act-assign").count():
                page.select_option("#assignee-select", OFFICER)
                page.click("#act-assign")
                page.wait_for_selector("#alert-state[data-state=assigned]")
            page.screenshot(path=str(alert_png), full_page=True)
            if page.locator("#event-link").count():
                page.click("#event-link")
                page.wait_for_selector("#timeline")
                page.screenshot(path=str(event_png))
            page.goto(url + "/search?q=" + "社区矫正")
            page.wait_for_selector("#se-items")
            page.screenshot(path=str(search_png))
        finally:
            browser.close()
    return tuple(p for p in (overview_png, queue_png, alert_png, event_png, search_png)
                 if p.exists())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs",
                    help="where to write the desk-*.png screenshots (default docs/)")
    ap.add_argument("--keep-home", type=Path,
                    help="use (and keep) this YUQING_HOME instead of a temporary one")
    args = ap.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    home = args.keep_home or Path(tempfile.mkdtemp(prefix="yuqing-shots-"))
    home.mkdir(parents=True, exist_ok=True)
    proc = None
    try:
        env = prepare(home)
        proc, url = serve(env, home)
        for path in shoot(url, args.out):
            print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.keep_home is None:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
