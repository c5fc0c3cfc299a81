"""The website in a real browser (Debian's chromium driven by Playwright) against the local
stack: what a visitor types, sees and is told when something fails. Screenshots go to
build/screenshots/."""
import re

import pytest
from playwright.sync_api import expect

from sentiment.local.servers import free_port, stop_process
from sentiment.local.stack import Stack
from sentiment.paths import ROOT

pytestmark = pytest.mark.browser


SCREENSHOTS = ROOT / "build" / "screenshots"
POSITIVE = "A wonderful, brilliant film. I loved it: a superb, moving masterpiece with great actors."
NEGATIVE = "An awful, boring mess. I hated it: the worst, most dull waste of two hours, terrible."
MAX_REVIEW_CHARS = 300


@pytest.fixture(scope="module")
def stack(stack_model):
    with Stack(stack_model, free_port(), free_port(), free_port(), MAX_REVIEW_CHARS, quiet=True) as running:
        yield running


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.predict_requests = []
    page.console_errors = []
    page.on("request", lambda r: page.predict_requests.append(r) if r.url.endswith("/predict") else None)
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{stack.site_url}/")
    # A locator assertion, not wait_for_function: the page's CSP rightly forbids eval.
    expect(page.locator("#review-count")).to_have_text(re.compile(r"/ 300$"))
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def submit(page, review):
    page.fill("#review", review)
    page.click("#submit")


def test_a_clearly_positive_review_reads_positive(page):
    submit(page, POSITIVE)
    page.wait_for_selector("#prediction:not([hidden])")
    assert page.inner_text("#sentiment") == "Positive"
    assert "Probability positive" in page.inner_text("#score-text")
    assert page.get_attribute("#announcement", "aria-live") == "polite"
    assert page.inner_text("#announcement").startswith("Positive.")
    screenshot(page, "positive")
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_a_clearly_negative_review_reads_negative_and_ctrl_enter_sends_it(page):
    page.fill("#review", NEGATIVE)
    page.press("#review", "Control+Enter")
    page.wait_for_selector("#prediction:not([hidden])")
    assert page.inner_text("#sentiment") == "Negative"
    screenshot(page, "negative")


def test_an_empty_review_is_refused_without_a_request(page):
    page.fill("#review", "   ")
    page.click("#submit")
    assert page.inner_text("#form-error") == "Please type a review first."
    assert page.get_attribute("#review", "aria-invalid") == "true"
    page.wait_for_timeout(300)
    assert page.predict_requests == []
    screenshot(page, "empty")


def test_the_counter_shows_the_limit_and_a_too_long_review_is_not_sent(page):
    page.fill("#review", "x" * (MAX_REVIEW_CHARS + 5))
    assert page.inner_text("#review-count") == f"{MAX_REVIEW_CHARS + 5} / {MAX_REVIEW_CHARS}"
    page.click("#submit")
    assert "the limit is 300" in page.inner_text("#form-error")
    assert page.predict_requests == []


def test_the_counter_counts_characters_as_the_api_does(page):
    page.fill("#review", "🎬" * 10)
    assert page.inner_text("#review-count") == f"10 / {MAX_REVIEW_CHARS}"


def test_without_its_settings_the_page_says_so_and_sends_nothing(browser, stack):
    context = browser.new_context()
    page = context.new_page()
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/predict") else None)
    page.route("**/config.json", lambda route: route.fulfill(status=404, body="Not found"))
    page.goto(f"{stack.site_url}/")
    submit(page, POSITIVE)
    expect(page.locator("#form-error")).to_have_text(re.compile("could not load its settings"))
    assert sent == []
    context.close()


def test_an_example_fills_the_form(page):
    page.click("button.example >> nth=0")
    assert page.input_value("#review").startswith("A masterpiece.")


def test_markup_in_a_review_is_shown_as_text_and_never_run(page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    submit(page, '<img src=x onerror="alert(1)"><script>alert(2)</script> ' + POSITIVE)
    page.wait_for_selector("#prediction:not([hidden])")
    assert dialogs == []
    assert page.locator("#result img, #result script").count() == 0


@pytest.mark.parametrize("status, body, content_type, shown", [
    (503, '{"error": "The service is busy right now."}', "application/json", "The service is busy right now."),
    (504, '{"error": "<img src=x onerror=alert(1)>"}', "application/json", "<img src=x onerror=alert(1)>"),
    (502, "<html>Bad gateway</html>", "text/html", "The sentiment model could not analyse this review. Please try again."),
    (429, "", "text/plain", "The service is busy right now. Please wait a few seconds and try again."),
    (400, "", "text/plain", "The review could not be read. Please check it and try again."),
    (413, '{"message": "Request Too Long"}', "application/json", "The review is too long. Please shorten it and try again."),
    (415, "", "text/plain", "The review was sent in a format the service does not accept. Please reload the page and try again."),
    (503, "", "text/plain", "The sentiment service is unavailable right now. Please try again in a minute."),
    (504, "", "text/plain", "The sentiment model took too long to answer. Please try again in a moment."),
])
def test_each_error_status_gets_a_readable_message_inserted_as_text(page, stack, status, body, content_type, shown):
    """The API's answer is replaced here, to show what the page does with each kind of failure."""
    cors = {"Access-Control-Allow-Origin": stack.site_url, "Access-Control-Allow-Headers": "Content-Type"}
    page.route("**/predict", lambda route: route.fulfill(
        status=204 if route.request.method == "OPTIONS" else status, body=body, content_type=content_type,
        headers=cors))
    submit(page, POSITIVE)
    page.wait_for_selector("#api-error:not([hidden])")
    assert page.inner_text("#api-error") == shown
    assert page.locator("#api-error *").count() == 0
    assert page.is_hidden("#prediction")


def test_while_waiting_the_page_says_so_and_cannot_send_twice(page, stack):
    held = []
    page.route("**/predict", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    submit(page, POSITIVE)
    expect(page.locator("#submit")).to_have_text("Analysing…")
    assert page.is_disabled("#submit")
    assert page.get_attribute("#result", "aria-busy") == "true"
    assert page.inner_text("#status") == "Analysing your review…"
    page.press("#review", "Control+Enter")
    assert len(held) == 1, "a second request while the first is on its way"
    held[0].continue_()
    page.wait_for_selector("#prediction:not([hidden])")
    assert page.is_enabled("#submit") and page.get_attribute("#result", "aria-busy") == "false"


def test_the_page_fits_a_phone(browser, stack):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{stack.site_url}/")
    page.fill("#review", POSITIVE)
    page.click("#submit")
    page.wait_for_selector("#prediction:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(page, "phone")
    context.close()


def test_with_the_api_stopped_the_visitor_gets_a_friendly_error(page, stack):
    """Last in this module: it stops the stack's API."""
    stop_process(stack.api_process)
    submit(page, POSITIVE)
    page.wait_for_selector("#api-error:not([hidden])")
    message = page.inner_text("#api-error")
    assert message == "Could not reach the sentiment service. Check your internet connection and try again."
    assert page.is_enabled("#submit")
    screenshot(page, "api-down")
