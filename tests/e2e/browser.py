"""A real browser for the console tests: Debian's chromium + chromium-driver, driven by selenium.

Nothing is downloaded: the browser and its driver are the system's (apt-get install chromium
chromium-driver), found on PATH or through FACESEARCH_CHROMIUM / FACESEARCH_CHROMEDRIVER. Without
them the browser tests are skipped with a reason that says so. Screenshots go to .artifacts/console/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts" / "console"
CHROME_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--disable-dev-shm-usage", "--window-size=1280,1000")
INSTALL_HINT = "apt-get install -y chromium chromium-driver"


def find_browser() -> tuple[str, str] | None:
    """(chromium binary, chromedriver) or None."""
    binary = os.environ.get("FACESEARCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("FACESEARCH_CHROMEDRIVER") or shutil.which("chromedriver")
    if binary and driver:
        return binary, driver
    return None


def start_driver(profile_dir: Path) -> Any:
    """A headless Chromium with a fresh profile, its console log kept for CSP checks."""
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise RuntimeError(f"chromium and chromedriver are not installed ({INSTALL_HINT})")
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (*CHROME_ARGS, f"--user-data-dir={profile_dir}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    return driver


def screenshot(driver: Any, name: str) -> Path:
    """Save a full-page screenshot as .artifacts/console/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
    size = driver.get_window_size()
    driver.set_window_size(size["width"], max(height + 140, 600))
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    return path


DROP_FILE_JS = """
const [selector, done] = [arguments[0], arguments[arguments.length - 1]];
const input = document.getElementById('fs-test-drop-source');
const transfer = new DataTransfer();
for (const file of input.files) transfer.items.add(file);
const zone = document.querySelector(selector);
for (const type of ['dragenter', 'dragover', 'drop']) {
  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
}
input.remove();
done(true);
"""


def drop_files(driver: Any, selector: str, paths: list[Path]) -> None:
    """Drop files on an element as a user dragging them from the desktop would (a real DragEvent)."""
    from selenium.webdriver.common.by import By

    driver.execute_script("""const i = document.createElement('input'); i.type = 'file'; i.multiple = true;
        i.id = 'fs-test-drop-source'; i.hidden = true; document.body.append(i);""")
    driver.find_element(By.ID, "fs-test-drop-source").send_keys("\n".join(str(p) for p in paths))
    driver.execute_async_script(DROP_FILE_JS, selector)
