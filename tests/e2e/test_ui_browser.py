"""The web inbox in a real browser: Debian's headless Chromium driven by Playwright, against the
real emulator process on a virtual clock, with a real webhook receiver.

The browser is installed by `scripts/install-browser.sh` when /usr/bin/chromium is missing; the
tests skip only if that fails. Playwright is told where the browser is and never downloads one.
Screenshots of the main views are written to tests/artifacts/screenshots/ (git-ignored); with
UPDATE_README_SCREENSHOT=1 the message list is also written to docs/inbox.png for the README.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
INSTALLER = REPO / "scripts" / "install-browser.sh"
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
README_SCREENSHOT = REPO / "docs" / "inbox.png"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}

ELKS_AUTH = ("test_user", "test_password")
SEVEN = {"X-Api-Key": "test_api_key", "Accept": "application/json"}
OUR_NUMBER = "+46766861001"
OUR_NUMBER_ID = "n53c05a4e002ae26f790cbaf82b93bc37"
ELKS_ACCOUNT = "u5a9566c072160b318445d163949bf505"
PHONE_NUMBER = "+46700000123"

# Every test gets its own emulator process on a virtual clock: time moves only when asked.
pytestmark = pytest.mark.parametrize(
    "emulator_process", [("--clock", "virtual", "--clock-start", "2026-01-01T09:00:00Z")], indirect=True,
)
expect.set_options(timeout=15_000)


def chromium_path() -> str:
    if not CHROMIUM.exists():
        try:
            result = subprocess.run(["sh", str(INSTALLER)], capture_output=True, text=True, timeout=900)
            reason = (result.stdout + result.stderr)[-600:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = str(exc)
        if not CHROMIUM.exists():
            pytest.skip(f"headless Chromium is missing and scripts/install-browser.sh could not install it: {reason}")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[BrowserContext]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable, args=LAUNCH_ARGS, headless=True, viewport=LAPTOP,
        )
        yield context
        context.close()


class Inbox:
    """A browser tab on the inbox of one emulator process, plus an API client for it."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.api = httpx.Client(base_url=base, timeout=10)
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and self.problems.append(f"console: {message.text}"))

    def open(self, view: str = "messages") -> None:
        self.page.goto(f"{self.base}/")  # the root redirects to the inbox
        expect(self.page).to_have_url(re.compile(r"/_emulator/ui"))
        self.show(view)
        expect(self.page.locator("#live")).to_have_text("Live")

    def show(self, view: str) -> None:
        self.page.click(f'nav a[data-view="{view}"]')
        expect(self.page.locator(f"#view-{view}")).to_be_visible()

    def advance(self, seconds: float, steps: int = 1) -> None:
        for _ in range(steps):
            self.api.post("/_emulator/clock/advance", json={"seconds": seconds}).raise_for_status()

    def wait_for_event(self, **filters) -> dict:
        response = self.api.get("/_emulator/wait", params={"timeout": 10, **filters})
        assert response.status_code == 200, response.text
        return response.json()["event"]

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.emulate_media(reduced_motion="reduce")  # no arrival highlights in the picture
        self.page.screenshot(path=str(path), full_page=full_page)
        self.page.emulate_media(reduced_motion="no-preference")
        return path


@pytest.fixture
def inbox(browser: BrowserContext, emulator_process) -> Iterator[Inbox]:
    page = browser.new_page()
    page.set_viewport_size(LAPTOP)
    inbox = Inbox(page, emulator_process.url)
    yield inbox
    problems = list(inbox.problems)
    page.close()
    inbox.api.close()
    assert problems == [], problems


def png(size=(48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (11, 92, 173)).save(out, "PNG")
    return out.getvalue()


def set_number(inbox: Inbox, **settings: str) -> None:
    response = inbox.api.post(f"/a1/numbers/{OUR_NUMBER_ID}", data=settings, auth=ELKS_AUTH)
    assert response.status_code == 200, response.text


def message_row(page: Page, text: str):
    return page.locator("#msg-rows tr.row", has_text=text)


# -- tests ------------------------------------------------------------------------------


def test_sms_appears_live_and_a_reply_from_the_phone_fires_the_webhook(inbox, webhook_receiver):
    page = inbox.page
    set_number(inbox, sms_url=webhook_receiver.url + "/incoming")
    inbox.open("messages")
    expect(page.locator("#msg-empty")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    sent = inbox.api.post(
        "/a1/SMS",
        data={"from": "ElkCo", "to": PHONE_NUMBER, "message": "Your table for two is booked for 19:30.", "whendelivered": webhook_receiver.url + "/dlr"},
        auth=ELKS_AUTH,
    )
    assert sent.status_code == 200, sent.text
    row = message_row(page, "Your table for two")
    expect(row).to_be_visible()
    expect(row).to_contain_text("46elks")
    expect(row).to_contain_text("Test Company AB")
    expect(row).to_contain_text("0.35 SEK")
    expect(row).to_contain_text("GSM-7")
    expect(row.locator(".badge").last).to_have_text("created")
    seven = inbox.api.post("/api/sms", json={"to": "+4917612345678", "text": "Grüße aus Berlin – Ihr Termin ist morgen um 10 Uhr."}, headers=SEVEN)
    assert seven.status_code == 200, seven.text
    expect(message_row(page, "Grüße aus Berlin")).to_contain_text("seven.io")
    expect(message_row(page, "Grüße aus Berlin")).to_contain_text("UCS-2")
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"

    page.click("button[data-advance='1']")  # the virtual clock, moved from the header
    expect(row.locator(".badge").last).to_have_text("delivered")
    expect(row).to_contain_text("created 09:00:00 → sent 09:00:00.500 → delivered 09:00:01")
    assert [hit.path for hit in webhook_receiver.wait_for(2, "/dlr")] == ["/dlr", "/dlr"]

    # Filters and search narrow the list without a request.
    page.select_option("#msg-provider", "seven")
    expect(page.locator("#msg-rows tr.row")).to_have_count(1)
    page.select_option("#msg-provider", "")
    page.fill("#msg-search", "table for two")
    expect(page.locator("#msg-rows tr.row")).to_have_count(1)
    page.fill("#msg-search", "")

    # The phone answers from the simulator; the number's sms_url gets the webhook.
    inbox.show("phone")
    page.fill("#phone-from", PHONE_NUMBER)
    page.select_option("#phone-sms-to", OUR_NUMBER)
    page.fill("#phone-text", "Perfect, see you then!")
    page.click("#phone-sms-send")
    expect(page.locator("#phone-sms-result")).to_contain_text(f"received by {OUR_NUMBER}")
    (incoming,) = webhook_receiver.wait_for(1, "/incoming")
    assert b"Perfect" in incoming.body
    inbox.wait_for_event(kind="webhook.attempt", url=webhook_receiver.url + "/incoming")

    inbox.show("webhooks")
    delivery = page.locator("li.delivery", has_text="/incoming")
    expect(delivery).to_contain_text("sms.incoming")
    expect(delivery.locator(".badge").first).to_have_text("delivered")
    delivery.get_by_role("button", name=re.compile("Show 1 attempt")).click()
    attempt = delivery.locator("li.attempt")
    expect(attempt).to_contain_text("HTTP 200")
    attempt.locator("summary", has_text="Request").click()
    expect(attempt).to_contain_text("message = Perfect, see you then!")
    expect(attempt.locator("table.headers")).to_contain_text("Content-Type")
    inbox.screenshot("webhooks")

    inbox.show("conversations")
    page.locator("#conv-list button", has_text=PHONE_NUMBER).click()
    bubbles = page.locator("#bubbles li.bubble")
    expect(bubbles).to_have_count(2)
    expect(bubbles.nth(0)).to_have_class(re.compile(r"\bout\b"))
    expect(bubbles.nth(0).locator(".ticks")).to_contain_text("Delivered")
    expect(bubbles.nth(1)).to_have_class(re.compile(r"\bin\b"))
    expect(bubbles.nth(1)).to_contain_text("Perfect, see you then!")

    # Replying from the thread is the phone writing again.
    page.fill("#reply-text", "Can we make it 20:00?")
    page.press("#reply-text", "Enter")
    expect(bubbles).to_have_count(3)
    webhook_receiver.wait_for(2, "/incoming")
    inbox.screenshot("conversation")

    inbox.show("messages")
    expect(page.locator("#msg-rows tr.row")).to_have_count(4)
    message_row(page, "Your table for two").locator("button.row-toggle").click()
    expect(page.locator("tr.details")).to_contain_text("Status history")
    inbox.screenshot("messages")
    if os.environ.get("UPDATE_README_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(inbox.screenshot("readme", full_page=False), README_SCREENSHOT)


def test_inbound_call_with_keys_shows_its_timeline_and_a_playable_recording(inbox, webhook_receiver):
    page = inbox.page
    menu = {"ivr": "https://sounds.example/menu.mp3", "1": {"record": webhook_receiver.url + "/recording", "timelimit": 5}}
    set_number(inbox, voice_start=json.dumps(menu))
    inbox.open("phone")
    page.fill("#phone-from", PHONE_NUMBER)
    page.select_option("#phone-call-to", OUR_NUMBER)
    page.locator(".keypad button", has_text="1").click()
    expect(page.locator("#phone-digits")).to_have_value("1")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#phone-call-result")).to_contain_text("Follow its timeline")
    call_id = inbox.wait_for_event(kind="call.created", direction="inbound")["data"]["id"]
    inbox.advance(1, steps=12)
    inbox.wait_for_event(kind="call.ended", id=call_id)
    webhook_receiver.wait_for(1, "/recording")

    page.click("#phone-call-result a")
    detail = page.locator("#call-detail")
    expect(detail).to_contain_text(call_id)
    expect(detail.locator(".badge").first).to_have_text("ended")
    timeline = detail.locator("ol.timeline")
    expect(timeline).to_contain_text("Caller pressed 1")
    expect(timeline).to_contain_text("Action ivr: https://sounds.example/menu.mp3")
    expect(timeline).to_contain_text("Action record")
    expect(detail.locator("ol.actions")).to_contain_text("pressed 1")
    expect(detail).to_contain_text("7 s")

    audio = detail.locator("audio")
    expect(audio).to_have_count(1)
    source = audio.get_attribute("src")
    assert re.search(rf"/_emulator/recordings/{call_id}-r0\.wav$", source)
    page.wait_for_function("document.querySelector('#call-detail audio').readyState >= 1")
    assert page.evaluate("document.querySelector('#call-detail audio').duration") == pytest.approx(5, abs=0.05)
    wav = page.request.get(source)
    assert wav.ok and wav.headers["content-type"] == "audio/wav" and wav.body()[:4] == b"RIFF"
    inbox.screenshot("calls")


def test_mms_with_an_image_from_the_phone(inbox, webhook_receiver):
    page = inbox.page
    set_number(inbox, mms_url=webhook_receiver.url + "/mms")
    inbox.open("phone")
    page.fill("#phone-from", PHONE_NUMBER)
    page.select_option("#phone-sms-to", OUR_NUMBER)
    page.fill("#phone-text", "The stain on the sofa")
    page.set_input_files("#phone-image", files=[{"name": "sofa.png", "mimeType": "image/png", "buffer": png()}])
    expect(page.locator("#phone-sms-send")).to_have_text("Send MMS")
    expect(page.locator("#phone-image-preview")).to_be_visible()
    inbox.screenshot("phone")
    page.click("#phone-sms-send")
    expect(page.locator("#phone-sms-result")).to_contain_text("MMS")
    (hit,) = webhook_receiver.wait_for(1, "/mms")
    assert b"image=" in hit.body

    page.click("#phone-sms-result a")  # open the conversation
    image = page.locator("#bubbles li.bubble.in img")
    expect(image).to_have_count(1)
    page.wait_for_function("document.querySelector('#bubbles li.bubble.in img').naturalWidth === 48")
    expect(page.locator("#bubbles li.bubble.in")).to_contain_text("The stain on the sofa")


def test_redeliver_a_webhook_from_the_list(inbox, webhook_receiver):
    page = inbox.page
    webhook_receiver.statuses = [500, 200]
    inbox.open("webhooks")
    inbox.api.post(
        "/a1/SMS", data={"from": "ElkCo", "to": "+46700000408", "message": "no final report", "whendelivered": webhook_receiver.url + "/dlr"}, auth=ELKS_AUTH,
    ).raise_for_status()
    inbox.advance(1)
    webhook_receiver.wait_for(1, "/dlr")
    delivery = page.locator("li.delivery").first
    expect(delivery).to_contain_text("HTTP 500")
    expect(delivery).to_contain_text("Next attempt")
    delivery.get_by_role("button", name="Redeliver").click()
    webhook_receiver.wait_for(2, "/dlr")
    copy = page.locator("li.delivery", has_text="Redelivery of")
    expect(copy).to_contain_text("HTTP 200")
    expect(copy.locator(".badge").first).to_have_text("delivered")
    expect(page.locator("li.delivery", has_text="Redelivered as")).to_have_count(1)
    hits = webhook_receiver.hits
    assert hits[0].body == hits[1].body


def test_a_refused_request_is_one_click_from_its_reason(inbox):
    page = inbox.page
    inbox.open("requests")
    expect(page.locator("#req-empty")).to_be_visible()
    refused = inbox.api.post("/a1/SMS", data={"from": "+46700000000", "to": PHONE_NUMBER, "message": "hi"}, auth=ELKS_AUTH)
    assert refused.status_code == 403
    inbox.api.post("/a1/SMS", data={"from": "ElkCo", "to": PHONE_NUMBER, "message": "fine"}, auth=ELKS_AUTH).raise_for_status()
    item = page.locator("li.request.refused", has_text="POST /a1/SMS")
    expect(item).to_be_visible()
    expect(page.locator("li.request")).to_have_count(2)
    expect(item.locator(".badge")).to_have_text("403")
    item.get_by_role("button", name="Why?").click()
    expect(item.locator(".reason-text")).to_have_text(refused.headers["x-telco-emulator-reason"])
    expect(item.locator("pre").first).to_contain_text('"from": "+46700000000"')
    expect(item).not_to_contain_text("test_password")
    page.select_option("#req-outcome", "answered")
    expect(page.locator("li.request")).to_have_count(1)
    expect(page.locator("li.request .badge")).to_have_text("200")
    inbox.screenshot("requests")

    inbox.api.post("/_emulator/sink/hooks/dlr", json={"id": "77", "status": "delivered"}).raise_for_status()
    inbox.show("sink")
    arrival = page.locator("li.arrival", has_text="/sink/hooks/dlr")
    expect(arrival).to_be_visible()
    arrival.get_by_role("button", name="Show").click()
    expect(arrival.locator("pre")).to_contain_text('"status": "delivered"')


def test_account_panel_balances_clock_and_reset(inbox):
    page = inbox.page
    inbox.open("accounts")
    card = page.locator(f'article.account[data-id="{ELKS_ACCOUNT}"]')
    balance = card.locator(":scope > .balance")
    expect(balance).to_contain_text("1,000.00")
    expect(card.locator(":scope > ul.numbers")).to_contain_text(OUR_NUMBER)
    subaccount = card.locator("article.account")  # nested in its main account's card
    expect(subaccount).to_contain_text("Test Subaccount")
    expect(subaccount.locator(".balance")).to_contain_text("100.00")
    expect(page.locator('article.account[data-id="1000001"] .balance')).to_contain_text("100.00 EUR")
    inbox.api.post("/a1/SMS", data={"from": "ElkCo", "to": PHONE_NUMBER, "message": "charge me"}, auth=ELKS_AUTH).raise_for_status()
    expect(balance).to_contain_text("999.65")
    expect(card.locator(":scope > ul.charges")).to_contain_text(f"SMS to {PHONE_NUMBER}")
    expect(card.locator(":scope > ul.charges")).to_contain_text("−0.35 SEK")

    expect(page.locator("#clock-now")).to_have_text("2026-01-01 09:00:00 UTC")
    page.fill("#advance-seconds", "90")
    page.click("#advance-form button[type=submit]")
    expect(page.locator("#advance-result")).to_contain_text("Now 09:01:30 UTC")
    expect(page.locator("#clock-now")).to_have_text("2026-01-01 09:01:30 UTC")
    inbox.screenshot("accounts")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reset-button")
    expect(page.locator("#reset-result")).to_have_text("Reset done.")
    expect(balance).to_contain_text("1,000.00")
    inbox.show("messages")
    expect(page.locator("#msg-empty")).to_be_visible()
    assert inbox.api.get("/_emulator/messages").json()["data"] == []


def test_keyboard_labels_and_landmarks(inbox):
    page = inbox.page
    for text in ("keyboard only", "arrows too"):
        inbox.api.post("/a1/SMS", data={"from": "ElkCo", "to": PHONE_NUMBER, "message": text}, auth=ELKS_AUTH).raise_for_status()
    inbox.open("messages")
    expect(message_row(page, "keyboard only")).to_be_visible()
    landmarks = page.evaluate("['header', 'nav', 'main', 'footer'].map(tag => document.querySelectorAll(tag).length)")
    assert landmarks == [1, 1, 1, 1]
    unlabelled = page.evaluate("""[...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map(el => el.id || el.outerHTML)""")
    assert unlabelled == []

    page.reload()  # a fresh page: the first Tab goes to the skip link
    expect(message_row(page, "keyboard only")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    page.keyboard.press("/")
    expect(page.locator("#msg-search")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#msg-provider")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "keyboard focus must be visible"

    message_row(page, "arrows too").locator("button.row-toggle").focus()  # the newest, first row
    page.keyboard.press("ArrowDown")
    toggle = message_row(page, "keyboard only").locator("button.row-toggle")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("tr.details")).to_be_visible()
    page.locator("tr.details a").first.focus()
    page.keyboard.press("Escape")
    expect(page.locator("tr.details")).to_have_count(0)
    assert page.evaluate("document.activeElement.dataset.focusKey").startswith("msg:")

    page.click('nav a[data-view="calls"]')
    # The view changes on the `hashchange` event, just after the click returns: wait for it.
    expect(page.locator("#h-calls")).to_be_focused()  # focus follows the view
    expect(page.locator('nav a[data-view="calls"]')).to_have_attribute("aria-current", "page")


def test_views_fit_a_phone_screen(inbox):
    page = inbox.page
    inbox.api.post("/a1/SMS", data={"from": "ElkCo", "to": PHONE_NUMBER, "message": "A long message " * 12}, auth=ELKS_AUTH).raise_for_status()
    inbox.api.post("/_emulator/inbound/sms", json={"to": OUR_NUMBER, "from": PHONE_NUMBER, "text": "Short answer"}).raise_for_status()
    page.set_viewport_size(PHONE)
    inbox.open("messages")
    inbox.api.post("/a1/SMS", data={"from": "+46700000000", "to": PHONE_NUMBER, "message": "refused"}, auth=ELKS_AUTH)
    inbox.api.post("/_emulator/sink/dlr", data={"id": "s1", "status": "delivered"}).raise_for_status()
    for view in ("messages", "conversations", "phone", "calls", "webhooks", "requests", "sink", "accounts"):
        inbox.show(view)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} is {overflow}px wider than a phone screen"
    inbox.show("conversations")
    page.locator("#conv-list button", has_text=PHONE_NUMBER).click()
    expect(page.locator("#conv-list")).to_be_hidden()  # the thread takes the whole screen
    expect(page.locator("#bubbles li.bubble")).to_have_count(2)
    inbox.screenshot("phone-conversation", full_page=False)
    page.click("#thread-back")
    expect(page.locator("#conv-list")).to_be_visible()


# -- exposure: what a browser may and may not do ------------------------------------------------


def test_a_page_on_another_site_cannot_reset_the_world(browser, emulator_process):
    """A page elsewhere (here http://localhost:<other port>, another site than 127.0.0.1) posts a
    form to the emulator and fires a no-cors fetch at it: Chromium sends its real `Origin` and
    `Sec-Fetch-Site`, and the emulator refuses both; nothing is reset."""
    import http.server
    import threading

    base = emulator_process.url
    api = httpx.Client(base_url=base, timeout=10)
    assert api.post("/a1/SMS", data={"from": "ElkCo", "to": PHONE_NUMBER, "message": "keep me"}, auth=ELKS_AUTH).status_code == 200
    attack = (
        f'<!doctype html><form method="post" action="{base}/_emulator/reset" enctype="text/plain">'
        '<input name="a" value="b"></form>'
        f'<script>fetch("{base}/_emulator/seven/tokens", {{method: "POST", mode: "no-cors", body: "scopes=sms"}})'
        '.finally(() => document.forms[0].submit());</script>'
    ).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(attack)))
            self.end_headers()
            self.wfile.write(attack)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://localhost:{server.server_address[1]}/")
        page.wait_for_url(re.compile(r"/_emulator/reset$"))
        expect(page.locator("body")).to_contain_text("CrossSiteRequest")
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    messages = api.get("/_emulator/messages").json()["data"]
    assert [message["text"] for message in messages] == ["keep me"]
    seven_tokens = [event for event in api.get("/_emulator/events", params={"limit": 1000}).json()["data"] if "token" in event["kind"]]
    assert seven_tokens == []
    api.close()


def test_a_shared_inbox_signs_in_with_its_token_once(browser, emulator_process):
    from processes import start_emulator, stop

    token = "inbox-token"
    shared = start_emulator("--clock", "virtual", "--clock-start", "2026-01-01T09:00:00Z", "--control-token", token)
    page = browser.new_page()
    try:
        assert page.goto(f"{shared.url}/_emulator/ui").status == 401
        page.goto(f"{shared.url}/_emulator/ui?token={token}")
        expect(page).to_have_url(f"{shared.url}/_emulator/ui")  # the token is not left in the address
        expect(page.locator("#live")).to_have_text("Live")  # the page's own API calls and event stream pass
        # the page's own writes pass: an SMS from the phone, then a reset, both from the page
        assert httpx.post(f"{shared.url}/a1/SMS", data={"from": "ElkCo", "to": PHONE_NUMBER, "message": "hello"}, auth=ELKS_AUTH, timeout=10).status_code == 200
        page.click('nav a[data-view="accounts"]')
        page.fill("#advance-seconds", "90")
        page.click("#advance-form button[type=submit]")
        expect(page.locator("#advance-result")).to_contain_text("Now 09:01:30 UTC")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#reset-button")
        expect(page.locator("#reset-result")).to_have_text("Reset done.")
        with_token = {"X-Telco-Emulator-Token": token}
        assert httpx.get(f"{shared.url}/_emulator/messages", headers=with_token, timeout=10).json()["data"] == []
        cookies = [cookie for cookie in browser.cookies(f"{shared.url}/_emulator/ui") if cookie["name"] == "telco_emulator_token"]
        assert cookies and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    finally:
        page.close()
        browser.clear_cookies()
        stop(shared.process)
