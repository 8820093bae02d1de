"""Headless Chromium driving the Airflow UI as a person does (Debian's chromium)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.airflow.conftest import LOGIN

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def log_in(page, base: str) -> None:
    page.goto(base + "/", timeout=60_000)
    page.get_by_label("Username").fill(LOGIN[0])
    page.get_by_label("Password").fill(LOGIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


def fill_backfill_dialog(page, day_from: str, day_to: str, time_from: str, time_to: str, runs: int):
    """Open the Trigger dialog's Backfill tab and pick the range (UTC); the dialog."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Backfill", exact=True).click()
    for day, time_of_day in ((day_from, time_from), (day_to, time_to)):
        # From, then To: each a date-and-time picker.
        dialog.get_by_text("Select date and time").first.click()
        page.get_by_placeholder("YYYY/MM/DD").fill(day)
        page.get_by_placeholder("HH:mm").fill(time_of_day)
        # Clicking outside the picker closes it, like a person would.
        dialog.get_by_text("Date Range", exact=True).click()
        page.get_by_placeholder("YYYY/MM/DD").wait_for(state="hidden", timeout=10_000)
    # The dialog's dry run answers each edit of the range; wait for the final range's.
    counted = dialog.get_by_text(re.compile(r"runs? will be triggered"))
    try:
        expect(counted).to_have_text(f"{runs} runs will be triggered.", timeout=30_000)
    except AssertionError as error:
        raise AssertionError(f"backfill dialog says:\n{dialog.inner_text()}") from error
    return dialog
