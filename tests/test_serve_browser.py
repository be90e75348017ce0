"""`xlcheck serve` in a real headless browser: Debian's chromium driven by Selenium through the
system chromedriver (/usr/bin/chromedriver; nothing is downloaded). One server, one browser session.

Set XLCHECK_SCREENSHOTS=1 to write the screenshots to docs/img/serve-*.png (they are always taken).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import openpyxl
import pytest

from test_serve import DEPTS, PASSWORD, books, cli_json, serving, upload  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = Path("/usr/bin/chromium")
EXAMPLE = ROOT / "examples" / "baiyun-2022.xlsx"        # seed 001 rebuilt in the template: many findings

pytestmark = pytest.mark.skipif(not (CHROMEDRIVER.exists() and CHROMIUM.exists()),
                                reason="needs Debian's chromium and chromium-driver "
                                       "(apt-get install -y chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("serve-browser")) as s:
        yield s


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1360,900",
              "--lang=zh-CN", "--disable-gpu"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False,
                                           "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait_for(fn, timeout=30, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        got = fn()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def screenshot(driver, name: str, tmp: Path) -> Path:
    """Full-page screenshot (the page's height), kept in docs/img when XLCHECK_SCREENSHOTS=1."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1360, min(max(height + 40, 600), 1400))
    path = tmp / f"serve-{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1360, 900)
    if os.environ.get("XLCHECK_SCREENSHOTS") == "1":
        shutil.copyfile(path, ROOT / "docs" / "img" / path.name)
    return path


def review_time(data: bytes) -> str:
    ws = openpyxl.load_workbook(io.BytesIO(data))["审核结果"]
    return next(row[2] for row in ws.iter_rows(values_only=True) if row[0] == "审核时间")


def normalized_entries(data: bytes) -> list[tuple[str, bytes]]:
    """Every zip entry, in order, decompressed, with the review sheet's 审核时间 text (minutes)
    blanked: the only content that depends on when the copy was written. (The entries' DOS
    timestamps in the zip headers are the other; they are not compared.)"""
    t = review_time(data).encode()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i).replace(t, b"<TIME>")) for i in z.infolist()]


def test_upload_page_shows_findings_and_downloads_the_cli_annotated_copy(server, browser, downloads, tmp_path):
    from selenium.webdriver.common.by import By
    before = server.stored()
    browser.get(server.url + "/")
    assert "上传工作簿审核" in browser.page_source
    browser.find_element(By.ID, "file").send_keys(str(EXAMPLE))
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "table.findings tbody tr"), what="findings")
    shown = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    cli = cli_json(EXAMPLE)
    levels = {"error": "错误", "warning": "警告", "info": "提示"}
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in shown] == [
        (levels[f["severity"]], f["rule"], f["sheet"] or "", (f["cell"] or "").replace("$", ""), f["message"])
        for f in cli["findings"]]
    verdict = browser.find_element(By.CSS_SELECTOR, ".verdict").text
    assert verdict == ("通过" if cli["status"] == "pass" else "未通过")
    assert "自查，文件未保存" in browser.find_element(By.ID, "message").text
    screenshot(browser, "upload", tmp_path)

    browser.find_element(By.CSS_SELECTOR, "a.download").click()
    got = downloads / EXAMPLE.name
    wait_for(lambda: got.exists() and not list(downloads.glob("*.crdownload")), what="the download")
    out = tmp_path / "cli-out"
    r = subprocess.run([sys.executable, "-m", "xlcheck", str(EXAMPLE), "--out", str(out), "-q"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    mine, theirs = got.read_bytes(), (out / EXAMPLE.name).read_bytes()
    assert normalized_entries(mine) == normalized_entries(theirs)
    assert server.stored() == before           # self-check keeps nothing


def test_inbox_in_the_browser_after_three_departments_and_wrong_password(server, browser, books, tmp_path):
    from selenium.webdriver.common.by import By
    # one department submits through the page with its code, dropping the file on the drop zone
    # (the file reaches the page through a staging input, then a real DragEvent carries it), two over HTTP
    browser.get(server.url + "/")
    browser.find_element(By.ID, "code").send_keys(server.codes["fail"])
    browser.execute_script("var i = document.createElement('input'); i.type = 'file'; i.id = 'stage';"
                           "document.body.appendChild(i);")
    browser.find_element(By.ID, "stage").send_keys(str(books["fail"]))
    browser.execute_script("var dt = new DataTransfer(); dt.items.add(document.getElementById('stage').files[0]);"
                           "document.getElementById('drop').dispatchEvent("
                           "new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));")
    wait_for(lambda: "已报送给财政部门" in browser.find_element(By.ID, "message").text, what="the receipt")
    c = httpx.Client(base_url=server.url, timeout=60)
    for key in ("pass", "explained"):
        assert upload(c, [books[key]], code=server.codes[key]).json()["stored"]

    browser.get(server.url + "/login")
    browser.find_element(By.ID, "password").send_keys("wrong password")
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: "密码错误" in browser.page_source, what="the refusal")
    browser.get(server.url + "/inbox")
    assert browser.current_url.endswith("/login")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.current_url.endswith("/inbox"), what="the inbox")
    rows = browser.find_elements(By.CSS_SELECTOR, "#inbox tbody tr")
    status = {tds[0].text: tds[2].text for tds in (r.find_elements(By.TAG_NAME, "td") for r in rows)}
    assert status == {DEPTS["pass"]: "通过", DEPTS["fail"]: "未通过", DEPTS["explained"]: "已说明",
                      DEPTS["silent"]: "未报送"}
    screenshot(browser, "inbox", tmp_path)
