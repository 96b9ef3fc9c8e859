"""The report page in a real browser: Debian's Chromium, headless, driven by playwright.

Checks that the page runs without a script error and fetches nothing, that Table 3, a
token view (with its hover) and the compare views render: two presets (same tokens: Δ per
token), two tokenizers and two detokenizers (Δ per word). Screenshots go to
$GPT2EVAL_SCREENSHOTS, or a temp folder printed at the end. `.ci/run` installs Chromium;
elsewhere the tests skip without it (and fail under CI=1).
"""
import os
import shutil
from pathlib import Path

import pytest

from report_runs import gpt2eval

pytestmark = pytest.mark.slow


def missing(what: str):
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    exe = os.environ.get("GPT2EVAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        missing("no Chromium: apt-get install chromium (or set GPT2EVAL_CHROMIUM)")
    with sync_playwright() as p:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def runs(report_runs):
    return report_runs


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("GPT2EVAL_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nreport screenshots: {folder}")


class Page:
    """A report opened in a fresh tab; every script error and every outside request recorded."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors, self.requests = [], []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else self.requests.append(r.url))
        self.page.goto(path.as_uri())

    def go(self, hash_: str):
        self.page.evaluate(f"location.hash = {hash_!r}")
        self.page.wait_for_timeout(300)

    def check(self):
        assert self.errors == [], self.errors
        assert self.requests == [], f"the page fetched {self.requests}"


def report(tmp_path, *args) -> Path:
    out = tmp_path / "report.html"
    gpt2eval("report", *map(str, args), "--output", out)
    return out


def test_table_figures_and_a_token_view(browser, runs, shots, tmp_path):
    p = Page(browser, report(tmp_path, runs["paper"]))
    assert p.page.locator("table.t3 tbody tr").count() == 3  # ours, paper, Δ
    assert p.page.locator("table.t3 td", has_text="†1").count() >= 1
    assert p.page.locator("figure svg").count() >= 3
    p.page.screenshot(path=shots / "summary.png")
    p.go("task=ptb")
    spans = p.page.locator("#text span[data-i]")
    spans.first.wait_for()
    first = p.page.locator("#dtab tr.sel td").nth(2).inner_text()  # the selected document's token count
    assert spans.count() == int(first)
    spans.nth(3).hover()
    tip = p.page.locator("#tip")
    assert tip.is_visible() and "NLL" in tip.inner_text() and "context" in tip.inner_text()
    p.page.locator("[data-v=original]").click()
    assert p.page.locator("#text span[data-i]").count() == int(first)  # the same tokens on the original text
    p.page.screenshot(path=shots / "ptb-tokens.png")
    p.go("task=lambada")
    p.page.locator("#text span[data-i]").first.wait_for()
    assert "predicted" in p.page.locator("#viewer").inner_text()
    p.go("task=cbt-cn")
    assert p.page.locator("table.cands tr").count() == 11  # header + 10 candidates
    p.page.screenshot(path=shots / "cbt.png")
    p.check()


def test_compare_presets_token_by_token(browser, runs, shots, tmp_path):
    p = Page(browser, report(tmp_path, runs["paper"], "--compare", runs["lm-eval"], "--no-figures"))
    p.go("task=lambada")
    p.page.locator("#text span[data-j]").first.wait_for()
    assert p.page.locator("button.on[data-m=dt]").count() == 1  # same target tokens: Δ per token
    assert p.page.locator(".card.d").inner_text().count("lm-eval") >= 1
    p.page.locator("#text span[data-j]").first.hover()
    assert "Δ B − A" in p.page.locator("#tip").inner_text()
    p.page.screenshot(path=shots / "compare-presets-lambada.png")
    p.page.locator("#dtab tr[data-i]").nth(2).click()  # another passage, through the list
    p.page.locator("#text span[data-j]").first.wait_for()
    p.check()


@pytest.mark.parametrize("other", ["bytelevel", "none"])
def test_compare_other_tokenization_per_word(browser, runs, shots, tmp_path, other):
    p = Page(browser, report(tmp_path, runs["paper"], "--compare", runs[other], "--no-figures"))
    p.go("task=ptb")
    words = p.page.locator("#text span[data-w]")
    words.first.wait_for()
    assert p.page.locator("button.on[data-m=dw]").count() == 1  # tokens differ: Δ per word of the original
    words.nth(1).hover()
    tip = p.page.locator("#tip").inner_text()
    assert "word" in tip and "Δ B − A" in tip
    p.page.locator("#whyb").click()
    assert p.page.locator("#why table tr").count() > 3
    p.page.screenshot(path=shots / f"compare-{other}-ptb.png", full_page=True)
    p.check()
