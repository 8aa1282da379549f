"""The web console in a real browser (headless Chromium) against the local stack.

The customer's path: sign in, create a collection, drop photos and watch them get INDEXED, search
with another photo and find the right person first, compare two photos, delete a photo and see it
leave search; then a police key, which gets the refusal explained. Screenshots: .artifacts/console/.
Skipped, with the reason, when chromium and chromium-driver are not installed.
"""

from __future__ import annotations

import time
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
    field.clear()
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
             "face": li.get_attribute("data-face"), "label": li.text} for li in all_css(driver, "#matches li")]


def test_sign_in_shows_who_and_what_the_policy_allows(browser: Any, console: str, keys: dict[str, str]) -> None:
    # Given the console's URL, opened without any key: the key goes in a labelled, focused password field
    browser.get(console)
    field = wait_for(browser, lambda d: by_css(d, "#api-key"), what="the sign-in page")
    assert field.get_attribute("type") == "password"
    assert by_css(browser, "label[for='api-key']").text == "API key"
    assert browser.execute_script("return document.activeElement.id") == "api-key"
    screenshot(browser, "01-sign-in")
    # And a wrong key gets a readable error with the code, not a broken page
    field.send_keys("fsk_not-a-key")
    by_css(browser, "#signin-submit").click()
    wait_for(browser, lambda d: all_css(d, "form .error code"), what="the refused key's error")
    assert text_of(browser, "form .error code") == "API_KEY_REFUSED"
    # When the media archive signs in with its key
    sign_in(browser, console, keys["media"])
    # Then the header names it, its sector, and every operation as allowed
    assert text_of(browser, "#who-name") == "Northwind Media Archive"
    assert text_of(browser, "#who-sector") == "media"
    assert "all 7 operations allowed" in text_of(browser, "#access-details summary")
    # And the key is in this tab's sessionStorage only: no localStorage, no cookie
    assert browser.execute_script("return sessionStorage.getItem('facesearch.apiKey')") == keys["media"]
    assert browser.execute_script("return localStorage.length") == 0 and browser.get_cookies() == []
    screenshot(browser, "02-home-media")


def test_a_collection_is_created(browser: Any, console: str) -> None:
    browser.get(console + "#/collections")
    field = wait_for(browser, lambda d: by_css(d, "#new-collection"))
    field.send_keys(COLLECTION)
    by_css(browser, "#create-collection button[type=submit]").click()
    wait_for(browser, lambda d: all_css(d, f"tr[data-collection='{COLLECTION}']"), what="the new collection's row")
    screenshot(browser, "03-collections")


def test_dropped_photos_are_uploaded_and_indexed(browser: Any, console: str, photos: Path) -> None:
    # Given the collection's page
    browser.get(console + f"#/collections/{COLLECTION}")
    wait_for(browser, lambda d: all_css(d, "#upload-drop"))
    # When five photos are dropped on it
    drop_files(browser, "#upload-drop", [photos / name for name in UPLOADS])
    # Then each one's status goes live to its final state: INDEXED with its faces
    def final(d: Any) -> bool:
        rows = all_css(d, "#uploads li")
        return len(rows) == len(UPLOADS) and all(r.get_attribute("data-status") for r in rows)
    wait_for(browser, final, timeout=WAIT, what="every upload's final status")
    statuses = {r.get_attribute("data-file"): r.text for r in all_css(browser, "#uploads li")}
    assert all("INDEXED" in s for s in statuses.values()), statuses
    assert "INDEXED: 1 face" in statuses["obama.jpg"]
    # And the photos are listed with their face boxes drawn from the customer's own images
    wait_for(browser, lambda d: len(all_css(d, "#photos .photo")) == len(UPLOADS), what="the photo grid")
    wait_for(browser, lambda d: d.execute_script(
        "return [...document.querySelectorAll('#photos canvas')].every(c => c.dataset.drawn === 'true')"),
        what="the photos drawn")
    screenshot(browser, "04-upload-indexed")


def test_faces_are_grouped_into_a_user(browser: Any, console: str) -> None:
    # Given the collection's users tab, where the user creates "obama"
    browser.get(console + f"#/collections/{COLLECTION}")
    wait_for(browser, lambda d: len(all_css(d, "#photos .photo")) == len(UPLOADS), what="the photo grid")
    by_css(browser, "#tab-users").click()
    by_css(browser, "#new-user").send_keys("obama")
    by_css(browser, "#panel-users form button[type=submit]").click()
    wait_for(browser, lambda d: all_css(d, "#users tr[data-user='obama']"), what="the new user")
    # When a face of a photo of Obama is added to it
    by_css(browser, "#tab-photos").click()
    from selenium.webdriver.support.ui import Select

    card = next(c for c in all_css(browser, "#photos .photo")
                if c.find_element("css selector", ".meta").text == "obama.jpg")

    Select(card.find_element("css selector", "select")).select_by_value("obama")
    # Then the face carries the user's tag
    wait_for(browser, lambda d: "user obama" in card.text, what="the face's user tag")


def test_search_finds_the_right_person_first(browser: Any, console: str, photos: Path) -> None:
    matches = search_with(browser, photos / "obama2.jpg")
    # Then the best match is a photo of the same person, and the slider hides matches below it
    assert matches, "no match shown"
    first = matches[0]["label"]
    assert "obama" in first.lower(), matches
    assert float(matches[0]["similarity"]) >= 80
    summary_at_80 = text_of(browser, "#match-summary")
    slider = by_css(browser, "#threshold")
    browser.execute_script("arguments[0].value = 99; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert text_of(browser, "#threshold-value") == "99" and text_of(browser, "#match-summary") != summary_at_80
    browser.execute_script("arguments[0].value = 80; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert all_css(browser, "#search-query") and len(all_css(browser, ".choices button")) >= 1
    time.sleep(0.5)  # let the match thumbnails draw
    screenshot(browser, "05-search")


def test_search_on_another_face_of_a_group_photo(browser: Any, console: str, photos: Path) -> None:
    # Given a group photo dropped on the search page: the largest face is searched first
    first = search_with(browser, photos / "t1.jpg")
    buttons = all_css(browser, ".choices button")
    assert len(buttons) >= 2 and buttons[0].get_attribute("aria-pressed") == "true"
    # When the user picks the second face
    buttons[1].click()
    wait_for(browser, lambda d: all_css(d, ".choices button[data-face-index='1'][aria-pressed='true']"))
    wait_for(browser, lambda d: all_css(d, "#matches li") and all_css(d, "#matches li")[0].get_attribute("data-face")
             != first[0]["face"], what="the second face's matches")
    # Then that face is searched: its best match is itself, another face of the same photo
    best = all_css(browser, "#matches li")[0]
    assert "t1.jpg" in best.text and float(best.get_attribute("data-similarity")) > 95
    screenshot(browser, "05b-search-chosen-face")


def test_compare_shows_both_photos_and_the_similarity(browser: Any, console: str, photos: Path) -> None:
    browser.get(console + "#/compare")
    wait_for(browser, lambda d: all_css(d, "#source-drop"))
    drop_files(browser, "#source-drop", [photos / "obama.jpg"])
    wait_for(browser, lambda d: all_css(d, "#source-faces table"), timeout=WAIT, what="the source's detection")
    drop_files(browser, "#target-drop", [photos / "obama3.jpg"])
    wait_for(browser, lambda d: "%" in text_of(d, "#best-similarity"), timeout=WAIT, what="the similarity")
    assert float(text_of(browser, "#best-similarity").rstrip("%")) >= 80
    assert "Brightness" in text_of(browser, "#target-faces")
    screenshot(browser, "06-compare")


def test_a_deleted_photo_leaves_search(browser: Any, console: str, photos: Path) -> None:
    # Given the collection's photos
    browser.get(console + f"#/collections/{COLLECTION}")
    wait_for(browser, lambda d: len(all_css(d, "#photos .photo")) == len(UPLOADS), what="the photo grid")
    card = next(c for c in all_css(browser, "#photos .photo") if "obama3" in c.text)
    image_id = card.get_attribute("data-image")
    # When the user deletes one photo of Obama and confirms
    card.find_element("css selector", ".delete-photo").click()
    dialog = wait_for(browser, lambda d: by_css(d, "dialog[open]"), what="the confirmation")
    assert "obama3" in dialog.text
    dialog.find_element("css selector", "button.danger").click()
    wait_for(browser, lambda d: all_css(d, "#photo-deleted"), what="the deletion notice")
    assert not all_css(browser, f"#photos .photo[data-image='{image_id}']")
    # Then a search no longer finds it
    matches = search_with(browser, photos / "obama2.jpg")
    assert image_id not in {m["image"] for m in matches}
    assert matches and "obama" in matches[0]["label"].lower()


def test_usable_at_360_px_without_csp_violations(browser: Any, console: str) -> None:
    size = browser.get_window_size()
    browser.set_window_size(360, 800)
    try:
        browser.get(console + f"#/collections/{COLLECTION}")
        wait_for(browser, lambda d: all_css(d, "#photos .photo"), what="the photo grid")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 360
        screenshot(browser, "07-collection-360px")
        # every field has a label a screen reader can read, and every button a name
        assert browser.execute_script("""return [...document.querySelectorAll('input, select')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length""") == 0
        assert browser.execute_script("""return [...document.querySelectorAll('button')]
            .filter(b => !(b.textContent.trim() || b.getAttribute('aria-label'))).length""") == 0
    finally:
        browser.set_window_size(size["width"], size["height"])
    assert csp_violations(browser) == []


def test_police_key_sees_the_refusal_explained(browser: Any, console: str, keys: dict[str, str]) -> None:
    # Given the media archive signs out
    by_css(browser, "#signout").click()
    wait_for(browser, lambda d: all_css(d, "#api-key"))
    assert browser.execute_script("return sessionStorage.getItem('facesearch.apiKey')") is None
    # When the police department signs in
    sign_in(browser, console, keys["police"])
    # Then it gets a page explaining the refusal: the code, the rule and its reason, not a broken page
    panel = wait_for(browser, lambda d: by_css(d, ".refusal"), what="the refusal")
    assert text_of(browser, ".refusal .reason-code") == "SECTOR_DISALLOWED"
    assert text_of(browser, ".refusal .rule-id") == "law-enforcement-identification"
    assert "law enforcement" in text_of(browser, ".refusal .rule-reason")
    assert "refused" in text_of(browser, "#access-details summary")
    screenshot(browser, "08-police-refused")
    # And the search page explains the same instead of offering the tool
    browser.get(console + "#/search")
    wait_for(browser, lambda d: all_css(d, ".refusal"), what="the search refusal")
    assert not all_css(browser, "#search-drop") and "SECTOR_DISALLOWED" in panel.parent.find_element(
        "css selector", ".refusal").text


def test_the_policy_page_is_open_to_anyone(browser: Any, console: str) -> None:
    # Given a browser tab without any key (a fresh page load)
    browser.execute_script("sessionStorage.clear()")
    browser.get(console + "#/policy")
    browser.refresh()
    wait_for(browser, lambda d: all_css(d, ".signin-link"), what="the signed-out header")
    wait_for(browser, lambda d: all_css(d, "[data-rule='law-enforcement-identification']"), what="the policy")
    assert "Face identification may not be used" in text_of(browser, "[data-rule='law-enforcement-identification']")
    assert len(text_of(browser, "#policy-version")) > 64  # version and SHA-256
    screenshot(browser, "09-policy")
