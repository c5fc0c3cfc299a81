"""The site under attack, in a real browser (Debian's chromium through Playwright) against the local
stack: reviews and API answers carrying markup and script never run and are shown as the text
they are, and the security headers the site is served with would stop them even if they reached
the page."""
import json

import pytest
import requests
from playwright.sync_api import expect

from sentiment.local.servers import free_port
from sentiment.local.stack import Stack

pytestmark = pytest.mark.browser

POSITIVE = "A wonderful, brilliant film. I loved it: a superb, moving masterpiece with great actors."
# Each one sets window.__pwned or opens a dialog if it ever runs.
ATTACKS = [
    "<script>window.__pwned = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">",
    "<svg onload=\"window.__pwned = 'svg'; alert('svg')\"></svg>",
    "<a href=\"javascript:window.__pwned = 'link'; alert('link')\" id=bait>click</a>",
    "<iframe srcdoc=\"<script>parent.__pwned = 'iframe'</script>\"></iframe>",
    "<body onload=\"window.__pwned = 'body'\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned = 'mxss'\">",
    "\"><script>window.__pwned = 'attribute'</script>",
    "</textarea><script>window.__pwned = 'textarea'</script>",
    "<details open ontoggle=\"window.__pwned = 'details'\">",
    "javascript:window.__pwned = 'bare'",
    "${alert(1)} {{constructor.constructor('window.__pwned = 1')()}}",
]


@pytest.fixture(scope="module")
def stack(stack_model):
    with Stack(stack_model, free_port(), free_port(), free_port(), 2000, quiet=True) as running:
        yield running


@pytest.fixture
def page(browser, stack):
    context = browser.new_context()
    page = context.new_page()
    page.dialogs, page.sent, page.csp_violations = [], [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda r: page.sent.append(r.post_data) if r.url.endswith("/predict") and r.method == "POST" else None)
    page.on("console", lambda m: page.csp_violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{stack.site_url}/")
    expect(page.locator("#review-count")).to_have_text("0 / 2,000")
    page.elements_before = element_census(page)
    yield page
    context.close()


def element_census(page) -> dict:
    return page.evaluate("""() => ({
        scripts: document.scripts.length,
        active: document.querySelectorAll('img, svg, iframe, object, embed, a[href^="javascript"], details, math').length,
        handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
    })""")


def assert_nothing_ran(page) -> None:
    page.wait_for_timeout(200)  # an onerror or onload fires within a task or two
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert element_census(page) == page.elements_before


def highlighted_text(page) -> str:
    return page.evaluate("""() => {
        const copy = document.getElementById('highlighted').cloneNode(true);
        copy.querySelectorAll('.visually-hidden').forEach(e => e.remove());
        return copy.textContent;
    }""")


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_review_full_of_markup_is_analysed_as_text_and_never_runs(page, attack):
    review = f"{attack} {POSITIVE}"
    page.fill("#review", review)
    page.click("#submit")
    page.wait_for_selector("#prediction:not([hidden])")
    assert page.inner_text("#sentiment") in ("Positive", "Negative", "Mixed / not sure")
    assert_nothing_ran(page)
    assert page.input_value("#review") == review, "the review stays on the page exactly as typed"
    assert [json.loads(body) for body in page.sent] == [{"review": review, "explain": True}], "sent to the API as text"
    assert highlighted_text(page) == review, "the highlighted view shows the review as text"


@pytest.mark.parametrize("attack", ATTACKS[:6])
def test_markup_in_an_api_error_is_shown_literally(page, stack, attack):
    """An API (or anything pretending to be it) that echoes markup gets it shown as text."""
    page.route("**/predict", lambda route: route.fulfill(
        status=204 if route.request.method == "OPTIONS" else 400, content_type="application/json",
        body=json.dumps({"error": attack}),
        headers={"Access-Control-Allow-Origin": stack.site_url, "Access-Control-Allow-Headers": "Content-Type"}))
    page.fill("#review", POSITIVE)
    page.click("#submit")
    page.wait_for_selector("#api-error:not([hidden])")
    assert page.inner_text("#api-error") == attack
    assert page.locator("#api-error *").count() == 0
    assert_nothing_ran(page)


@pytest.mark.parametrize("attack", ATTACKS[:6])
def test_markup_in_an_explanation_is_shown_literally(page, stack, attack):
    """Words, sentences and tooltips built from an explanation whose every string is markup: the
    page shows the review's own characters, as text, and never the API's strings as HTML."""
    review = f"{attack} wonderful"
    length = len(review)
    answer = {"sentiment": "positive", "score": 0.9, "explanation": {
        "words": [{"text": attack, "start": 0, "end": len(attack), "weight": -2.0},
                  {"text": "wonderful", "start": length - 9, "end": length, "weight": 3.0}],
        "sentences": [{"start": 0, "end": len(attack), "probability": 0.1},
                      {"start": length - 9, "end": length, "probability": 0.9}]}}
    page.route("**/predict", lambda route: route.fulfill(
        status=204 if route.request.method == "OPTIONS" else 200, content_type="application/json",
        body=json.dumps(answer),
        headers={"Access-Control-Allow-Origin": stack.site_url, "Access-Control-Allow-Headers": "Content-Type"}))
    page.fill("#review", review)
    page.click("#submit")
    page.wait_for_selector("#prediction:not([hidden])")
    assert highlighted_text(page) == review
    assert page.locator("#sentences .sentence-text").all_text_contents() == [attack, "wonderful"]
    assert page.locator("#result mark.word").nth(0).get_attribute("data-tip").endswith("towards negative")
    assert page.locator("#result :is(img, svg, iframe, script, a, details, math, body)").count() == 0
    assert_nothing_ran(page)


def test_markup_in_the_address_does_nothing(page, stack):
    page.goto(f"{stack.site_url}/?review=<script>window.__pwned=1</script>#<img src=x onerror=window.__pwned=2>")
    expect(page.locator("#review-count")).to_have_text("0 / 2,000")
    assert_nothing_ran(page)


def test_even_markup_that_reached_the_page_could_not_run(page):
    """Defence in depth: if a future change ever inserted HTML, the CSP still refuses inline
    scripts and event handlers."""
    page.evaluate("""() => {
        const box = document.createElement('div');
        box.innerHTML = '<img src=x onerror="window.__pwned = 1">';
        document.body.append(box);
        const script = document.createElement('script');
        script.textContent = 'window.__pwned = 2';
        document.body.append(script);
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.csp_violations, "the browser reported the blocked inline code"


def test_another_site_cannot_frame_the_page(browser, stack):
    context = browser.new_context()
    page = context.new_page()
    page.route("http://attacker.test/", lambda route: route.fulfill(
        content_type="text/html", body=f'<iframe id=victim src="{stack.site_url}/"></iframe>'))
    page.goto("http://attacker.test/")
    page.wait_for_timeout(500)
    frame = page.frame_locator("#victim")
    assert frame.locator("#review").count() == 0, "the site rendered inside another site's frame"
    context.close()


# --- headers, as the browser gets them ----------------------------------------------------------

def policy(response) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in response.headers["Content-Security-Policy"].split(";") if d.strip()}


@pytest.mark.parametrize("path", ["/", "/app.js", "/config.json", "/no-such-page"])
def test_every_site_answer_carries_the_security_headers(stack, path):
    response = requests.get(f"{stack.site_url}{path}", timeout=10)
    csp = policy(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"], "only the site's own scripts"
    assert csp["connect-src"] == ["'self'", stack.api_url], "the page may call only the API"
    assert csp["frame-ancestors"] == ["'none'"]
    for directive, sources in csp.items():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources), directive
        if directive not in ("img-src", "font-src"):  # a data: image cannot run anything
            assert "data:" not in sources, directive
    hsts = dict(part.strip().partition("=")[::2] for part in response.headers["Strict-Transport-Security"].split(";"))
    assert int(hsts["max-age"]) >= 365 * 24 * 3600 and "includeSubDomains" in hsts
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_api_errors_cannot_be_sniffed_as_html(stack):
    """An error message that quotes the caller's input is JSON, marked nosniff, and never cached."""
    response = requests.post(f"{stack.api_url}/predict", data=b"<script>alert(1)</script>",
                             headers={"Content-Type": "text/html<script>"}, timeout=10)
    assert response.status_code == 415
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_local_site_sends_the_policy_cloudfront_sends():
    """What is tested here in a browser is what the deployed site gets: the local site server and
    CloudFront's response-headers policy (stacks/website.py) both take their headers from
    sentiment.contract."""
    from sentiment.contract import content_security_policy, security_headers
    from sentiment.local.site import SiteApp

    api = "https://abc123.execute-api.eu-west-1.amazonaws.com"
    local = dict(SiteApp(f"{api}/prod").headers)
    assert local == dict(security_headers(api))
    assert local["Content-Security-Policy"] == content_security_policy(api)
    assert local["Strict-Transport-Security"] == f"max-age={730 * 24 * 3600}; includeSubDomains"
