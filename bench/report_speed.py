"""How fast the HTML report is built, opened and scrolled on a big task (WikiText-103).

    .venv/bin/python bench/report_speed.py results/tiny-gpt2 --task wikitext103
    .venv/bin/python bench/report_speed.py A/ --compare B/ --task wikitext103

Builds the page (``gpt2eval report``, figures left out: they are matplotlib's time, not the
page's), opens it in headless Chromium (Debian's ``chromium``, through playwright), opens
the task, opens its longest document and scrolls its text to the end, chunk by chunk as
a reader would. Prints the page size, the time of each step, the tokens on screen at the
end (all of the document's, or the view lost some) and the longest task the browser's
main thread ran (Long Tasks API: anything over 50 ms is a visible stall).
"""
import argparse
import shutil
import tempfile
import time
from pathlib import Path

from gpt2eval.report.html import write_report

LONG_TASKS = """
window.__long = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
  .observe({ type: "longtask", buffered: true });
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--compare")
    ap.add_argument("--task", default="wikitext103")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="report-speed-")) / "report.html"
    start = time.perf_counter()
    size = write_report(args.results, args.compare, out, figures=False)
    print(f"build      {time.perf_counter() - start:7.2f} s   {size / 1e6:.1f} MB -> {out}")

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(LONG_TASKS)
        start = time.perf_counter()
        page.goto(out.as_uri(), wait_until="load")
        print(f"open       {time.perf_counter() - start:7.2f} s   (parse the page and its data)")
        start = time.perf_counter()
        page.evaluate(f"location.hash = 'task={args.task}'")
        page.locator("#text span[data-i], #text span[data-w]").first.wait_for()
        print(f"task       {time.perf_counter() - start:7.2f} s   (decode its arrays, rank documents, show the first)")
        longest = page.evaluate("""() => { const rows = [...document.querySelectorAll('#dtab tr[data-i]')];
            const n = (tr) => Number(tr.children[2].textContent.replace(/[^0-9]/g, ''));
            return rows.reduce((a, b) => (n(b) > n(a) ? b : a)).dataset.i; }""")
        start = time.perf_counter()
        page.evaluate(f"location.hash = 'task={args.task}&doc={longest}'")
        page.wait_for_timeout(50)
        page.locator("#text span").first.wait_for()
        print(f"document   {time.perf_counter() - start:7.2f} s   (its first chunk on screen)")
        start, steps = time.perf_counter(), 0
        while page.evaluate("() => { const t = document.getElementById('text'); return !!t._obs && t.lastElementChild && t.lastElementChild.tagName === 'SPAN' && !t.lastElementChild.hasAttribute('data-i') && !t.lastElementChild.hasAttribute('data-w'); }"):
            page.evaluate("() => { const t = document.getElementById('text'); t.scrollTop = t.scrollHeight; }")
            page.wait_for_timeout(30)
            steps += 1
            if steps > 2000:
                break
        shown = page.evaluate("document.querySelectorAll('#text span[data-i]').length")
        print(f"scroll     {time.perf_counter() - start:7.2f} s   to the end in {steps} steps; {shown:,} spans on screen")
        long = page.evaluate("window.__long")
        print(f"main thread: {len(long)} tasks over 50 ms, longest {max(long, default=0):.0f} ms; script errors: {errors or 'none'}")
        browser.close()


if __name__ == "__main__":
    main()
