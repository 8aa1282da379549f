"""The web console in a real browser (headless Chromium) against the local stack.

The customer's path: sign in, create a collection, drop photos and watch them get INDEXED, search
with another photo and find the right person first, compare two photos, delete a photo and see it
leave search; then a police key, which gets the refusal explained. Screenshots: .artifacts/console/.
Skipped, with the reason, when chromium and chromium-driver are not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facesearch.client import Client
from facesearch.local.process import RunningStack

from .browser import INSTALL_HINT, drop_files, find_browser, screenshot, start_driver

pytestmark = [pytest.mark.e2e, pytest.mark.browser,
              pytest.mark.skipif(find_browser() is None,
                                 reason=f"browser tests need chromium and chromium-driver ({INSTALL_HINT})")]

COLLECTION = "newsroom"
UPLOADS = ("obama.jpg", "obama3.jpg", "biden.jpg", "Tom_Hanks_54745.png", "t1.jpg")
WAIT = 90.0


@pytest.fixture(scope="module")
def keys(admin: Client) -> dict[str, str]:
    media = admin.create_customer(name="Northwind Media Archive", sector="media", jurisdiction="GB", status="active")
    police = admin.create_customer(name="Metro City Police Department", sector="law_enforcement",
                                   jurisdiction="US", status="active")
    return {"media": media["api_key"]["secret"], "police": police["api_key"]["secret"]}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = start_driver(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def console(stack: RunningStack) -> str:
    return f"{stack.endpoint}/console/"


def wait_for(driver: Any, condition: Any, timeout: float = 20.0, what: str = "") -> Any:
    """Wait until `condition(driver)` is truthy; on a timeout, say what the page and its console showed."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition, what)
    except TimeoutException:
        logs = [e["message"] for e in driver.get_log("browser")][-10:]
        page = driver.execute_script("return document.querySelector('main')?.innerText || ''")[:1500]
        screenshot(driver, "failed-" + "".join(c if c.isalnum() else "-" for c in what)[:40])
        pytest.fail(f"timed out waiting for {what}\nbrowser console: {logs}\npage: {page}")


def by_css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def text_of(driver: Any, selector: str) -> str:
    found = all_css(driver, selector)
    return str(found[0].text) if found else ""


def sign_in(driver: Any, console: str, key: str) -> None:
    driver.get(console + "#/signin")
    field = wait_for(driver, lambda d: by_css(d, "#api-key"), what="the sign-in form")
    assert field.get_attribute("type") == "password"
    field.send_keys(key)
    by_css(driver, "#signin-submit").click()
    wait_for(driver, lambda d: text_of(d, "#who-name"), what="the signed-in header")


def csp_violations(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def search_with(driver: Any, photo: Path) -> list[dict[str, str]]:
    """Drop a query photo on the search page; the matches shown, best first."""
    driver.get(driver.current_url.split("#")[0] + "#/search")
    wait_for(driver, lambda d: all_css(d, f"#search-collection option[value='{COLLECTION}']"), what="collections")
    drop_files(driver, "#search-drop", [photo])
    wait_for(driver, lambda d: "match" in text_of(d, "#match-summary").lower(), timeout=WAIT, what="search results")
    return [{"image": li.get_attribute("data-image"), "similarity": li.get_attribute("data-similarity"),
             "label": li.text} for li in all_css(driver, "#matches li")]


def test_console_opens_with_a_labelled_key_field_and_no_csp_violation(browser: Any, console: str) -> None:
    # Given the console's URL, opened without any key
    browser.get(console)
    field = wait_for(browser, lambda d: by_css(d, "#api-key"), what="the sign-in page")
    # Then the key goes in a labelled password field, and the page breaks none of its own CSP
    assert field.get_attribute("type") == "password"
    assert by_css(browser, "label[for='api-key']").text == "API key"
    assert browser.execute_script("return document.activeElement.id") == "api-key"
    screenshot(browser, "01-sign-in")
    assert csp_violations(browser) == []
