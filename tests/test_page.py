"""The pages for people (`income_mlops.api_page`) in headless Chromium: Playwright's Python client driving Debian's `chromium`
(Playwright cannot download its own browsers here) against a real `python -m income_mlops.api` process.

One server for the page tests (a small bundle whose metadata carries metrics with intervals and a model card, and a workspace
holding a monitoring verdict), one more with a token. Screenshots go to a temporary folder whose path is printed (`-s`).
Without Chromium every test skips with one line (fails under INCOME_MLOPS_REQUIRE_TOOLS=1).
"""
import re

import pytest
import requests

from income_mlops.bundle import ModelBundle
from income_mlops.config import FEATURES, LABELS, workspace
from income_mlops.store import write_status
from test_api import Server   # the one real-server helper of the API tests

pytestmark = pytest.mark.timeout(600)
ENDPOINTS = {"/health", "/predict", "/model_info", "/example_request", "/openapi.json", "/metrics"}
TOKEN = "page-s3cret"


@pytest.fixture(scope="module")
def chromium(tools):
    "A headless Chromium driven by Playwright; skips (one line) when there is none."
    exe = tools.require("chromium")
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    "Where the screenshots go (not committed)."
    d = tmp_path_factory.mktemp("page-screenshots")
    print(f"\nscreenshots: {d}")
    return d


@pytest.fixture(scope="module")
def page_bundle(small_bundle, tmp_path_factory):
    "The small bundle re-saved with hold-out metrics, their intervals and a model card in its metadata."
    b = ModelBundle.load(small_bundle.path)
    b.metadata["metrics"] = {"roc_auc": 0.9123, "f1": 0.7012, "intervals": {"roc_auc": {"lo": 0.9011, "hi": 0.9234}}}
    b.metadata["model_card"] = "# Model card: income-classifier\n\nTrained on 10,000 rows for the page tests."
    return b.save(tmp_path_factory.mktemp("page-bundle") / "bundle")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    "A workspace whose latest monitoring verdict is a drift alert with an HTML report."
    h = tmp_path_factory.mktemp("page-home")
    write_status({"status": "drift", "generated": "2026-12-04T10:00:00+00:00", "alerts": ["age drifted (PSI 0.31)"],
                  "window": {"rows": 500}, "drifted_features": ["age"], "report": {"html": str(h / "reports/drift.html")}},
                 workspace(h))
    return h


def _server(tmp_path_factory, bundle_path, home, token=""):
    tmp = tmp_path_factory.mktemp("page-api")
    env = {"INCOME_MLOPS_HOME": str(home), "INCOME_MLOPS_API_TOKEN": token}
    return Server(tmp, "--model", bundle_path, "--workers", 1, env=env, name="page-api")


@pytest.fixture(scope="module")
def server(chromium, page_bundle, home, tmp_path_factory):
    "The API without a token (started only once Chromium is known to be there)."
    s = _server(tmp_path_factory, page_bundle, home)
    yield s.wait_ready()
    s.stop()


@pytest.fixture
def page(chromium, server):
    "A fresh browser tab on the page, with every request the page makes recorded in `page.requests_seen`."
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.requests_seen = []
    p.on("request", lambda r: p.requests_seen.append(r.url))
    p.goto(server.url("/"))
    yield p
    ctx.close()


def _prediction(server, record: dict) -> dict:
    r = requests.post(server.url("/predict?explain=true"), json=record, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_form_is_the_schema(page):
    "One labelled field per feature, pre-filled with the example request, optional ones with an 'unknown' choice."
    example = requests.get(page.url.rstrip("/") + "/example_request", timeout=10).json()
    for f in FEATURES:
        field = page.locator(f"#f-{f.pyname}")
        assert page.locator(f"label[for='f-{f.pyname}']").inner_text().split(" ")[0] == f.name
        assert field.input_value() == str(example[f.name] if example[f.name] is not None else ""), f.name
        if f.kind == "numeric":
            assert (field.get_attribute("min"), field.get_attribute("max")) == (str(int(f.min)), str(int(f.max)))
        else:
            options = field.locator("option").all_inner_texts()
            assert options == (["(unknown)"] if f.nullable else []) + list(f.categories), f.name


def test_predict_shows_label_probability_and_chart(page, server, shots):
    page.get_by_label("age", exact=True).fill("52")
    page.select_option("#f-education", "Masters")
    page.select_option("#f-workclass", "")                          # unknown: sent as null
    page.get_by_role("button", name="Predict").click()
    page.wait_for_selector("#result-body:not([hidden])")
    record = {f.name: page.locator(f"#f-{f.pyname}").input_value() for f in FEATURES}
    record = {k: (None if v == "" else int(v) if re.fullmatch(r"\d+", v) else v) for k, v in record.items()}
    assert record["age"] == 52 and record["workclass"] is None
    expected = _prediction(server, record)
    assert page.locator("#result-label").inner_text() == expected["label"] and expected["label"] in LABELS
    text = page.locator("#result-text").inner_text()
    assert f"{expected['probability']:.3f}" in text and f"{expected['threshold']:.3f}" in text
    bars = page.locator("#chart li")
    assert bars.count() == len(expected["contributions"]) == 5
    first = expected["contributions"][0]
    assert bars.first.locator(".name").inner_text().startswith(first["feature"] + " = ")
    assert bars.first.locator(".bar").get_attribute("class") == "bar " + ("pos" if first["contribution"] >= 0 else "neg")
    assert page.locator("#status").inner_text() == ""
    page.screenshot(path=shots / "page-desktop.png", full_page=True)


def test_out_of_range_age_shows_the_api_message_next_to_the_field(page, server, shots):
    bad = dict(requests.get(server.url("/example_request"), timeout=10).json(), age=150)
    api = requests.post(server.url("/predict"), json=bad, timeout=10).json()
    assert api["status"] == 422 and api["details"][0]["field"] == "age"
    age = page.get_by_label("age", exact=True)
    age.fill("150")
    age.press("Enter")                                               # keyboard: Enter in a field submits the form
    err = page.locator("#f-age-error")
    err.wait_for(state="visible")
    assert err.inner_text() == api["details"][0]["message"]           # e.g. "Input should be less than or equal to 100"
    assert age.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "f-age"      # focus moved to the field in error
    assert page.locator(".error:not(:empty)").count() == 1           # no other field is blamed
    assert api["message"] in page.locator("#status").inner_text()
    page.screenshot(path=shots / "page-error.png", full_page=True)
    age.fill("40")                                                   # fixed: the error goes away
    page.get_by_role("button", name="Predict").click()
    page.wait_for_selector("#result-body:not([hidden])")
    assert page.locator(".error:not(:empty)").count() == 0


def test_model_panel_shows_the_served_model_and_the_monitor(page, server):
    health = requests.get(server.url("/health"), timeout=10).json()
    page.wait_for_selector("#model-facts:not([hidden])")
    facts = dict(zip(page.locator("#model-facts dt").all_inner_texts(), page.locator("#model-facts dd").all_inner_texts()))
    assert facts["version"] == health["version"] and facts["name"] == health["model"] and facts["trained"]
    rows = {r.locator("th").inner_text(): r.locator("td").all_inner_texts()
            for r in page.locator("#model-metrics tbody tr").all()}
    assert rows == {"roc_auc": ["0.9123", "0.9011 – 0.9234"], "f1": ["0.7012", "–"]}
    page.locator("#model-card summary").click()
    assert "Trained on 10,000 rows" in page.locator("#model-card pre").inner_text()
    assert page.locator("#monitoring-verdict").inner_text() == "drift"
    assert "age drifted (PSI 0.31)" in page.locator("#monitoring-details").inner_text()
    assert page.locator("#monitoring-report").inner_text() == "drift.html"   # named, without the server's path


def test_phone_width(chromium, server, shots):
    "Readable at 390 px: one column, nothing wider than the screen."
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    p = ctx.new_page()
    p.goto(server.url("/"))
    p.get_by_role("button", name="Predict").click()
    p.wait_for_selector("#result-body:not([hidden])")
    p.wait_for_selector("#model-facts:not([hidden])")
    assert p.evaluate("document.documentElement.scrollWidth") <= 390
    form_box, result_box = p.locator("#person").bounding_box(), p.locator("#result").bounding_box()
    assert result_box["y"] > form_box["y"] + form_box["height"] - 1   # stacked, not side by side
    p.screenshot(path=shots / "page-phone.png", full_page=True)
    ctx.close()


def test_docs_lists_every_endpoint_from_local_assets(chromium, server, shots):
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    seen = []
    p.on("request", lambda r: seen.append(r.url))
    p.goto(server.url("/docs"))
    p.wait_for_selector(".opblock-summary-path")
    paths = {t.strip().replace("\u200b", "") for t in p.locator(".opblock-summary-path").all_inner_texts()}
    assert paths == ENDPOINTS
    assert "income-mlops prediction API" in p.locator(".info .title").inner_text()
    assert seen and all(u.startswith(server.base) for u in seen), [u for u in seen if not u.startswith(server.base)]
    p.screenshot(path=shots / "docs.png", full_page=True)
    ctx.close()


def test_with_a_token_the_page_asks_for_it_and_sends_it(chromium, page_bundle, home, tmp_path_factory, shots):
    s = _server(tmp_path_factory, page_bundle, home, token=TOKEN).wait_ready()
    try:
        ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
        p = ctx.new_page()
        assert p.goto(s.url("/")).status == 200                      # the page itself is public
        p.wait_for_selector("#model-empty:has-text('token')")
        p.get_by_role("button", name="Predict").click()
        p.wait_for_selector("#status.shown")
        assert "bearer token" in p.locator("#status").inner_text()
        assert p.evaluate("document.activeElement.id") == "token"
        p.get_by_label("Bearer token").fill(TOKEN)
        p.get_by_role("button", name="Use token").click()
        p.wait_for_selector("#model-facts:not([hidden])")
        with p.expect_request(lambda r: "/predict" in r.url) as req:
            p.get_by_role("button", name="Predict").click()
        assert req.value.headers["authorization"] == f"Bearer {TOKEN}"
        p.wait_for_selector("#result-body:not([hidden])")
        assert p.evaluate("localStorage.length + sessionStorage.length") == 0 and ctx.cookies() == []
        p.screenshot(path=shots / "page-token.png", full_page=True)
        assert p.goto(s.url("/docs")).status == 200
        p.wait_for_selector(".btn.authorize")                         # Swagger UI's "Authorize": the bearer scheme
        ctx.close()
    finally:
        s.stop()
