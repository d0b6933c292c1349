"""`nasforge dashboard` in a real browser (headless Chromium driven by Selenium): the page of a study that a
running search is writing shows the trial count grow, and redraws its views without a reload."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from conftest import require

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    webdriver = None

TRAINING = ["--dataset", "synthetic", "--epochs", "1", "--channels", "4", "--cells", "1"]


def chromium() -> "webdriver.Chrome":
    require(webdriver, "selenium is not installed (pip install selenium)")
    browser = require(shutil.which("chromium"), "Chromium is not installed (apt-get install chromium)")
    driver = require(shutil.which("chromedriver"), "chromedriver is not installed (apt-get install chromium-driver)")
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"]:
        options.add_argument(argument)
    options.binary_location = browser
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_a_study_page_follows_a_running_search(tmp_path, cli, processes):
    browser = chromium()
    storage = f"sqlite:{tmp_path / 'live.db'}"
    study = ["--storage", storage, "--study", "live"]
    subprocess.run([cli, "search", *study, *TRAINING, "--trials", "1"], check=True, capture_output=True, cwd=tmp_path)
    dashboard = subprocess.Popen(
        [cli, "dashboard", "--storage", storage, "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    processes.append(dashboard)
    url = dashboard.stdout.readline().split("http://")[1].split()[0]
    processes.append(
        subprocess.Popen(
            [cli, "search", *study, *TRAINING, "--trials", "500"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
    )
    try:
        browser.get(f"http://{url}study/live")
        first = int(browser.find_element(By.ID, "trial-count").text)
        seen = [first]
        deadline = time.monotonic() + 60
        while seen[-1] < first + 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            seen.append(int(browser.find_element(By.ID, "trial-count").text))
        assert seen[-1] >= first + 3, f"the trial count did not grow: {seen}"
        assert browser.find_element(By.ID, "status").text == "connected"
        # The views were redrawn in place: the summary in them counts the new trials too.
        time.sleep(1.5)
        summary = browser.find_element(By.CSS_SELECTOR, "#views dl.summary").text
        counted = int(summary.split(" in all")[0].split()[-1])
        assert counted >= first + 3, summary
        assert len(browser.find_elements(By.CSS_SELECTOR, "#views svg")) >= 3
        assert browser.current_url.endswith("/study/live"), "the page was not reloaded"
    finally:
        browser.quit()
