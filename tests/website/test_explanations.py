"""What the page shows beside the verdict, in a real browser (Debian's chromium through
Playwright) against the local stack: the visitor's own words tinted by their weight and readable
without colour, a line per sentence, "mixed / not sure" in the uncertain band, and the result in
view without scrolling or moving anything, on a laptop and on a phone. Screenshots of both go to
build/screenshots/ (docs/screenshots/ keeps a copy for the README)."""
import json
import re

import pytest
from playwright.sync_api import expect

from sentiment.contract import UNCERTAIN_BAND
from sentiment.local.servers import free_port
from sentiment.local.stack import Stack
from sentiment.paths import ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "build" / "screenshots"
# Words models/default weighs clearly; their signs, not their sizes, are what the tests rely on.
MIXED_SENTENCES = "A wonderful, moving film with a brilliant cast. The ending was awful and boring.<br /><br />Still, I would watch it again."
NEGATIVE = "An awful, boring mess. I hated it: the worst, most dull waste of two hours."
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def stack(stack_model):
    with Stack(stack_model, free_port(), free_port(), free_port(), 2000, quiet=True) as running:
        yield running


def open_page(browser, stack, viewport="laptop"):
    phone = viewport == "phone"
    context = browser.new_context(viewport=VIEWPORTS[viewport], is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(f"{stack.site_url}/")
    expect(page.locator("#review-count")).to_have_text(re.compile(r"/ 2,000$"))
    return context, page


@pytest.fixture
def page(browser, stack):
    context, page = open_page(browser, stack)
    yield page
    context.close()


def submit(page, review):
    page.fill("#review", review)
    page.click("#submit")
    page.wait_for_selector("#prediction:not([hidden])")


def marks(page) -> dict[str, str]:
    """Each marked word and the direction its class gives it."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#highlighted mark.word')].map(m =>
        [m.firstChild.textContent, m.classList.contains('towards-positive') ? 'positive' : 'negative']))""")


def visible_text(page, selector) -> str:
    """The text a sighted visitor reads (descriptions for screen readers left out)."""
    return page.evaluate("""(selector) => {
        const copy = document.querySelector(selector).cloneNode(true);
        copy.querySelectorAll('.visually-hidden').forEach(e => e.remove());
        return copy.textContent;
    }""", selector)


def fake_api(page, stack, answer):
    """The API's answer replaced, for a score the real model would not give on demand."""
    cors = {"Access-Control-Allow-Origin": stack.site_url, "Access-Control-Allow-Headers": "Content-Type"}
    page.route("**/predict", lambda route: route.fulfill(
        status=204 if route.request.method == "OPTIONS" else 200, content_type="application/json",
        body=json.dumps(answer), headers=cors))


def test_the_page_asks_for_an_explanation_and_marks_the_words_by_their_sign(page):
    with page.expect_request(lambda r: r.url.endswith("/predict") and r.method == "POST") as sent:
        submit(page, MIXED_SENTENCES)
    assert json.loads(sent.value.post_data) == {"review": MIXED_SENTENCES, "explain": True}
    marked = marks(page)
    assert marked["wonderful"] == "positive"
    assert marked["brilliant"] == "positive"
    assert marked["awful"] == "negative"
    assert visible_text(page, "#highlighted") == MIXED_SENTENCES, "the visitor's text, exactly as typed"


def test_a_weight_is_readable_without_colour(page):
    submit(page, NEGATIVE)
    awful = page.locator("#highlighted mark.word", has_text="awful").first
    assert re.fullmatch(r"\u2212\d+\.\d\d towards negative", awful.get_attribute("data-tip"))
    assert re.fullmatch(r" \(\u2212\d+\.\d\d towards negative\)", awful.locator(".visually-hidden").text_content())
    assert "Towards negative: " in page.inner_text("#top-words") and "awful (\u2212" in page.inner_text("#top-words")
    awful.focus()
    tooltip = page.evaluate("(m) => getComputedStyle(m, '::after').content", awful.element_handle())
    assert "towards negative" in tooltip, "focus shows the weight as a tooltip"


def test_the_marks_can_be_reached_with_the_keyboard(page):
    submit(page, MIXED_SENTENCES)
    page.focus("#submit")
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.tagName + ':' + (document.activeElement.firstChild?.textContent || '')"))
    assert "MARK:wonderful" in focused
    assert "MARK:awful" in focused


def test_a_review_of_several_sentences_gets_a_line_per_sentence(page):
    submit(page, MIXED_SENTENCES)
    expect(page.locator("#sentence-breakdown")).to_be_visible()
    lines = page.locator("#sentences li")
    assert lines.count() == 3
    assert lines.nth(0).locator(".sentence-text").inner_text() == "A wonderful, moving film with a brilliant cast."
    assert lines.nth(0).locator(".sentence-leaning").inner_text().startswith("Positive")
    assert lines.nth(1).locator(".sentence-leaning").inner_text().startswith("Negative")


def test_a_one_sentence_review_has_no_breakdown(page):
    submit(page, "A wonderful film with a brilliant cast")
    expect(page.locator("#highlighted mark.word").first).to_be_visible()
    assert page.is_hidden("#sentence-breakdown")


def test_a_score_in_the_uncertain_band_reads_as_mixed(page, stack):
    review = "Good acting. Bad plot."
    low, high = UNCERTAIN_BAND
    fake_api(page, stack, {"sentiment": "positive", "score": 0.52, "explanation": {
        "words": [{"text": "Good", "start": 0, "end": 4, "weight": 1.5}, {"text": "Bad", "start": 13, "end": 16, "weight": -1.4}],
        "sentences": [{"start": 0, "end": 12, "probability": 0.9}, {"start": 13, "end": 22, "probability": 0.45}]}})
    submit(page, review)
    assert page.inner_text("#sentiment") == "Mixed / not sure"
    assert f"Between {round(low * 100)}% and {round(high * 100)}% the model is not sure" in page.inner_text("#score-text")
    assert page.get_attribute("#prediction", "class") == "prediction uncertain"
    assert page.locator("#sentences li .sentence-leaning").all_inner_texts() == ["Positive 90%", "Mixed / not sure 45%"]
    assert "Mixed / not sure" in page.inner_text("#announcement")
    band = page.locator("#band").bounding_box()
    bar = page.locator(".bar").bounding_box()
    assert band["x"] - bar["x"] == pytest.approx(low * bar["width"], abs=1.5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "uncertain.png"))


def test_scores_just_outside_the_band_keep_their_verdict(page, stack):
    fake_api(page, stack, {"sentiment": "positive", "score": 0.61})
    submit(page, "Quite good.")
    assert page.inner_text("#sentiment") == "Positive"
    assert page.is_hidden("#explanation"), "an answer without an explanation shows the verdict alone"


def test_an_explanation_that_does_not_fit_the_review_is_left_out_word_by_word(page, stack):
    """Offsets are code points: the emoji before "good" must not shift it."""
    review = "\U0001f3ac good, bad"
    fake_api(page, stack, {"sentiment": "positive", "score": 0.8, "explanation": {
        "words": [{"text": "good", "start": 2, "end": 6, "weight": 2.0},
                  {"text": "bad", "start": 99, "end": 102, "weight": -1.0},
                  {"text": "<b>", "start": 8, "end": 11, "weight": -1.0}],
        "sentences": [{"start": 0, "end": 500, "probability": 0.2}]}})
    submit(page, review)
    assert marks(page) == {"good": "positive"}
    assert visible_text(page, "#highlighted") == review
    assert page.is_hidden("#sentence-breakdown")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_result_is_in_view_after_submitting_and_nothing_moves(browser, stack, viewport):
    context, page = open_page(browser, stack, viewport)
    page.fill("#review", MIXED_SENTENCES)
    layout = """() => Object.fromEntries(['review-form', 'result', 'sentiment', 'highlighted', 'sentences'].map(id => {
        const box = document.getElementById(id).getBoundingClientRect();
        return [id, {top: box.top, bottom: box.bottom}];
    }))"""
    before = page.evaluate(layout)
    page.click("#submit")
    page.wait_for_selector("#prediction:not([hidden])")
    after = page.evaluate(layout)
    height = VIEWPORTS[viewport]["height"]
    assert page.evaluate("window.scrollY") == 0
    assert after["result"]["top"] == before["result"]["top"], "the result card did not move"
    assert after["review-form"] == before["review-form"], "the form did not move"
    assert 0 <= after["result"]["top"] and after["sentiment"]["bottom"] <= height, "the verdict is in view"
    assert after["sentences"]["bottom"] <= height, "the highlighted review and the sentences are in view"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.focus("#highlighted mark.word >> nth=0")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"explained-{viewport}.png"))
    context.close()
