// gpt2eval report: task pages drawn on demand from the embedded data (no network).
// Token arrays arrive base64-encoded (gpt2eval/report/payload.py) and are decoded the
// first time their task is opened; a document's text is built in chunks as it scrolls.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("gpt2eval-data").textContent);
  const CHUNK = 2000; // tokens (or words) added to the text view at a time
  const PAGE = 100; // document rows per page of the list
  const tip = document.getElementById("tip");

  // ---- small helpers -------------------------------------------------------------
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
  const sgn = (x, d = 3) => (x === null || Number.isNaN(x) ? "–" : (x > 0 ? "+" : "") + Number(x).toFixed(d));
  const show = (s) => s.replace(/\n/g, "↵").replace(/ /g, "␣").replace(/\t/g, "⇥");
  function b64(s, T) {
    const bin = atob(s || "");
    const u8 = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    return new T(u8.buffer);
  }
  function quantile(values, q, sorted) {
    if (!values.length) return 0;
    const s = sorted || Float64Array.from(values).sort();
    return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))];
  }
  // White -> yellow -> orange -> red: how many nats a token cost.
  const HEAT = [[255, 255, 255], [255, 240, 170], [253, 190, 95], [240, 110, 60], [205, 40, 45]];
  function heat(v) {
    v = Math.min(1, Math.max(0, v)) * (HEAT.length - 1);
    const i = Math.min(HEAT.length - 2, Math.floor(v)), f = v - i, a = HEAT[i], b = HEAT[i + 1];
    return `rgb(${a.map((x, k) => Math.round(x + f * (b[k] - x))).join(",")})`;
  }
  // Blue where B needs fewer nats than A, red where it needs more.
  function diverge(v) {
    v = Math.max(-1, Math.min(1, v));
    const to = v < 0 ? [60, 120, 200] : [215, 50, 50], f = Math.abs(v);
    return `rgb(${to.map((x) => Math.round(255 + f * (x - 255))).join(",")})`;
  }
  function legend(kind, lo, hi) {
    const stops = kind === "heat" ? [0, 0.25, 0.5, 0.75, 1].map(heat) : [-1, -0.5, 0, 0.5, 1].map(diverge);
    const what = kind === "heat" ? "NLL (nats)" : "Δ NLL, B − A (nats)";
    return `<span class="legend">${what} ${fmt(lo, 2)} <span class="bar" style="background:linear-gradient(90deg,${stops.join(",")})"></span> ${fmt(hi, 2)}</span>`;
  }

  // ---- decoded token rows, per run ---------------------------------------------------
  function rows(run) {
    if (!run || !run.tok || run.kind === "cbt") return null;
    if (run._rows) return run._rows;
    const t = run.tok;
    const uint = (f) => b64(f.b64, { u1: Uint8Array, u2: Uint16Array, u4: Uint32Array }[f.t]);
    const start = uint(t.start), len = uint(t.len), end = new Int32Array(t.n);
    for (let k = 0; k < t.n; k++) end[k] = start[k] + len[k];
    const r = {
      n: t.n, ndocs: t.ndocs, docStart: b64(t.doc_start, Int32Array), nll: b64(t.nll, Float32Array),
      tok: uint(t.tok), start, end, ctx: uint(t.ctx), greedy: b64(t.greedy, Uint8Array), vocab: t.vocab, originals: t.originals, passage: t.passage,
    };
    r.sorted = Float64Array.from(r.nll).sort(); // for quantiles: sorted once
    run._rows = r;
    return r;
  }
  const span = (r, d) => [r.docStart[d], r.docStart[d + 1]];

  // ---- navigation ----------------------------------------------------------------------
  function route() {
    const h = decodeURIComponent(location.hash.slice(1));
    const m = /^task=([^&]*)(?:&doc=(\d+))?/.exec(h);
    document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("on", m ? a.dataset.key === m[1] : a.dataset.key === ""));
    document.getElementById("summary").hidden = !!m;
    document.getElementById("task").hidden = !m;
    if (m) showTask(m[1], m[2] === undefined ? null : Number(m[2]));
  }
  window.addEventListener("hashchange", route);

  let current = null; // {task, A, B, ...} of the task page on screen

  function showTask(key, doc) {
    const task = DATA.tasks.find((t) => t.key === key);
    const page = document.getElementById("task");
    if (!task) { page.innerHTML = `<p class=warn>No task ${esc(key)} in this report.</p>`; return; }
    if (!current || current.task !== task) current = buildTask(task, page);
    if (doc !== null && doc !== current.doc && doc < current.A.docs.id.length) selectDoc(doc);
  }

  // ---- a task page -------------------------------------------------------------------
  function buildTask(task, page) {
    const [A, B] = task.runs;
    const ctx = { task, A, B: B || null, ra: rows(A), rb: rows(B), doc: null, sort: null, pageNo: 0, filter: "" };
    ctx.kind = A.kind || (B && B.kind) || "none";
    ctx.bIndex = B ? new Map(B.docs.id.map((id, i) => [id, i])) : null;
    const all = [ctx.ra, ctx.rb].filter(Boolean);
    ctx.lo = Math.min(...all.map((r) => quantile(r.nll, 0.01, r.sorted)));
    ctx.hi = Math.max(ctx.lo + 1e-6, ...all.map((r) => quantile(r.nll, 0.99, r.sorted)));
    page.innerHTML = `<h2>${esc(task.title)}</h2>${runCards(ctx)}${notes(ctx)}
      <div class="row"><div class="panel hist"><h3>Distribution</h3>${histogram(ctx)}</div>
      ${ctx.kind === "cbt" ? "" : `<div class="panel stats"><h3>Loss by context length</h3>${byContext(ctx)}</div>`}</div>
      ${ctx.ra && ctx.rb ? `<div class="panel where"><h3>Where the difference comes from</h3>
        <p class=small>Per word of the original text (a token's NLL is shared among the words it covers), summed over every document of both runs.
        <button id="whyb">Attribute the difference per word</button></p><div id="why"></div></div>` : ""}
      <div class="row"><div class="panel docs"><h3>Documents, ${B ? "ranked by Δ" : "ranked by loss"}</h3>
        <div class="pager"><input id="filt" placeholder="filter by id or text" size="22"><span id="pinfo"></span>
        <button id="prev">‹</button><button id="next">›</button></div><div id="dtab"></div></div>
      <div class="panel viewer" id="viewer"><p class=small>Pick a document on the left.</p></div></div>`;
    const why = page.querySelector("#whyb");
    if (why) why.onclick = () => { why.disabled = true; page.querySelector("#why").innerHTML = wordTable(ctx); };
    page.querySelector("#filt").oninput = (e) => { ctx.filter = e.target.value.toLowerCase(); ctx.pageNo = 0; drawList(ctx); };
    page.querySelector("#prev").onclick = () => { ctx.pageNo = Math.max(0, ctx.pageNo - 1); drawList(ctx); };
    page.querySelector("#next").onclick = () => { ctx.pageNo += 1; drawList(ctx); };
    ctx.list = docList(ctx);
    current = ctx;
    drawList(ctx);
    if (ctx.list.length) selectDoc(ctx.list[0].i);
    return ctx;
  }

  function runCards(ctx) {
    const card = (run, cls, name) => {
      const ci = run.ci ? ` <span class=small>[${fmt(run.ci[0], 3)}, ${fmt(run.ci[1], 3)}]</span>` : "";
      return `<div class="card ${cls}"><div class=small>${name} · ${esc(run.label)}</div>
        <div class=big>${fmt(run.value, 4)}${ci}</div><div class=small>${esc(run.headline)} · ${esc(run.model)}</div>
        <div class=small>${run.differs ? "† " + esc(run.differs) : "paper protocol"}</div></div>`;
    };
    let out = `<div class=cards>${card(ctx.A, "a", "A")}`;
    if (ctx.B) {
      const d = ctx.B.value - ctx.A.value;
      out += card(ctx.B, "b", "B") + `<div class="card d"><div class=small>B − A</div><div class=big>${sgn(d, 4)}</div>
        <div class=small>${esc(ctx.A.headline)}</div>${setupDiff(ctx.A.setup, ctx.B.setup)}</div>`;
    }
    return out + "</div>";
  }

  function setupDiff(a, b) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => String(a[k]) !== String(b[k]));
    if (!keys.length) return "<div class=small>same protocol and model</div>";
    return "<div class=small>" + keys.map((k) => `${esc(k)}: <span class=run-a>${esc(a[k])}</span> → <span class=run-b>${esc(b[k])}</span>`).join("<br>") + "</div>";
  }

  function notes(ctx) {
    return [ctx.A, ctx.B].filter((r) => r && r.note).map((r) => `<p class=warn>${esc(r.label)}: ${esc(r.note)}</p>`).join("");
  }

  // ---- distribution and context-length tables ------------------------------------------
  function histogram(ctx) {
    const series = [];
    if (ctx.kind === "cbt") {
      for (const [run, color] of [[ctx.A, "var(--a)"], [ctx.B, "var(--b)"]]) {
        if (!run || !run.tok) continue;
        series.push({ run, color, values: run.tok.questions.map(margin) });
      }
    } else {
      for (const [r, run, color] of [[ctx.ra, ctx.A, "var(--a)"], [ctx.rb, ctx.B, "var(--b)"]]) if (r) series.push({ run, color, values: r.nll, sorted: r.sorted });
    }
    if (!series.length) return "<p class=small>No token rows (run with --save-tokens).</p>";
    let lo = Math.min(...series.map((s) => quantile(s.values, 0.001, s.sorted))), hi = Math.max(...series.map((s) => quantile(s.values, 0.999, s.sorted)));
    if (ctx.kind !== "cbt") lo = Math.min(0, lo);
    if (hi <= lo) hi = lo + 1;
    const nb = 60, W = 470, H = 170, L = 40, Bm = 28;
    const paths = series.map((s) => {
      const c = new Float64Array(nb);
      for (const v of s.values) c[Math.max(0, Math.min(nb - 1, Math.floor(((v - lo) / (hi - lo)) * nb)))] += 1;
      return { s, f: Array.from(c, (x) => x / s.values.length) };
    });
    const top = Math.max(...paths.map((p) => Math.max(...p.f))) || 1;
    const x = (k) => L + (k / nb) * (W - L - 24), y = (f) => H - Bm - (f / top) * (H - Bm - 10);
    const digits = Math.max(1, Math.ceil(-Math.log10((hi - lo) / 5)) + 1);
    let svg = `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`;
    for (let k = 0; k <= 5; k++) {
      const v = lo + ((hi - lo) * k) / 5;
      svg += `<line x1="${x((k * nb) / 5)}" x2="${x((k * nb) / 5)}" y1="${H - Bm}" y2="${H - Bm + 4}" stroke="#888"/>
        <text x="${x((k * nb) / 5)}" y="${H - Bm + 16}" font-size="11" text-anchor="middle" fill="#555">${fmt(v, digits)}</text>`;
    }
    svg += `<line x1="${L}" x2="${x(nb)}" y1="${H - Bm}" y2="${H - Bm}" stroke="#888"/>
      <text x="${L}" y="11" font-size="11" fill="#555">share of ${ctx.kind === "cbt" ? "questions" : "tokens"} (max ${fmt(top * 100, 1)}%)</text>`;
    for (const p of paths) {
      let d = `M${x(0)},${y(0)}`;
      p.f.forEach((f, k) => { d += `L${x(k)},${y(f)}L${x(k + 1)},${y(f)}`; });
      svg += `<path d="${d}L${x(nb)},${y(0)}" fill="none" stroke="${p.s.color}" stroke-width="1.6"/>`;
    }
    svg += "</svg>";
    const what = ctx.kind === "cbt" ? "gold candidate's NLL − the best other's (nats; > 0: a miss)" : "per-token NLL (nats)";
    const means = paths.map((p) => {
      const v = p.s.values; let s = 0; for (const x of v) s += x;
      return `<span style="color:${p.s.color}">■</span> ${esc(p.s.run.label)}: mean ${fmt(s / v.length, 3)} over ${v.length.toLocaleString()}`;
    });
    return svg + `<div class=small>${what}<br>${means.join("<br>")}</div>`;
  }

  function byContext(ctx) {
    const runs = [[ctx.ra, ctx.A], [ctx.rb, ctx.B]].filter(([r]) => r);
    if (!runs.length) return "<p class=small>No token rows.</p>";
    const edges = [1, 2, 5, 17, 65, 257, 1025, Infinity];
    const head = edges.slice(0, -1).map((e, k) => (edges[k + 1] - 1 === e ? `${e}` : `${e}–${edges[k + 1] === Infinity ? "" : edges[k + 1] - 1}`));
    let out = `<table><tr><th class=l>tokens of context</th>${head.map((h) => `<th>${h}</th>`).join("")}</tr>`;
    for (const [r, run] of runs) {
      const s = new Float64Array(edges.length), c = new Float64Array(edges.length);
      for (let i = 0; i < r.n; i++) {
        let k = 0; while (r.ctx[i] >= edges[k + 1]) k++;
        s[k] += r.nll[i]; c[k] += 1;
      }
      out += `<tr><td class=l>${esc(run.label)} mean NLL</td>${head.map((_, k) => `<td title="${c[k]} tokens">${c[k] ? fmt(s[k] / c[k], 2) : "–"}</td>`).join("")}</tr>`;
    }
    return out + "</table><p class=small>The first tokens of a stream or window see little context; hover a cell for its count.</p>";
  }

  // ---- the document list --------------------------------------------------------------
  function margin(q) {
    let best = Infinity;
    q.nll.forEach((v, k) => { if (k !== q.answer) best = Math.min(best, v); });
    return q.nll[q.answer] - best;
  }

  function docList(ctx) {
    const A = ctx.A, B = ctx.B, out = [];
    const loss = (run, i) => {
      if (ctx.kind === "cbt") return run.tok && i < run.tok.questions.length ? margin(run.tok.questions[i]) : NaN;
      const nll = run.docs.nll ? run.docs.nll[i] : NaN, units = run.docs.units ? run.docs.units[i] : 1;
      return ctx.kind === "lambada" ? nll : nll / units;
    };
    A.docs.id.forEach((id, i) => {
      const j = B ? ctx.bIndex.get(id) : undefined;
      const row = { i, j, id, a: loss(A, i), units: A.docs.units ? A.docs.units[i] : null, tokens: A.docs.tokens ? A.docs.tokens[i] : null };
      if (B && j !== undefined) { row.b = loss(B, j); row.d = row.b - row.a; }
      if (ctx.kind === "lambada" && ctx.ra && i < ctx.ra.ndocs) {
        row.target = ctx.ra.passage.target[i]; row.ok = ctx.ra.passage.correct_stopword[i]; row.pred = ctx.ra.passage.predicted[i];
      }
      if (ctx.kind === "cbt" && A.tok && i < A.tok.questions.length) {
        const q = A.tok.questions[i]; row.target = q.cand[q.answer]; row.ok = q.chosen === q.answer; row.pred = q.cand[q.chosen];
      }
      out.push(row);
    });
    const key = B ? (r) => -Math.abs(r.d ?? 0) : (r) => -(Number.isNaN(r.a) ? -Infinity : r.a);
    ctx.sort = { key, label: B ? "|Δ|" : "loss" };
    return out.sort((p, q) => key(p) - key(q));
  }

  function columns(ctx) {
    const c = [{ h: "#", f: (r) => r.i }, { h: "document", f: (r) => r.id, l: true }];
    const lossName = ctx.kind === "cbt" ? "margin" : ctx.kind === "lambada" ? "NLL" : "NLL/" + (DATA.units[ctx.task.task] || "unit");
    if (ctx.kind === "lambada" || ctx.kind === "cbt") {
      c.push({ h: "answer", f: (r) => r.target ?? "", l: true });
      c.push({ h: "A says", f: (r) => (r.pred === undefined ? "" : r.pred), l: true, cls: (r) => (r.ok ? "ok" : "bad") });
    } else {
      c.push({ h: "tokens", f: (r) => r.tokens ?? "" });
    }
    c.push({ h: (ctx.B ? "A " : "") + lossName, f: (r) => r.a, num: 3 });
    if (ctx.B) {
      c.push({ h: "B " + lossName, f: (r) => r.b, num: 3 });
      c.push({ h: "Δ", f: (r) => r.d, num: 3, sign: true });
    }
    return c;
  }

  function drawList(ctx) {
    const cols = columns(ctx);
    let list = ctx.list;
    if (ctx.filter) list = list.filter((r) => String(r.id).toLowerCase().includes(ctx.filter) || String(r.target || "").toLowerCase().includes(ctx.filter));
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    ctx.pageNo = Math.min(ctx.pageNo, pages - 1);
    const part = list.slice(ctx.pageNo * PAGE, (ctx.pageNo + 1) * PAGE);
    const cell = (c, r) => {
      const v = c.f(r);
      const text = c.num !== undefined ? (c.sign ? sgn(v, c.num) : fmt(v, c.num)) : esc(v);
      const cls = [c.l ? "l" : "", c.cls ? c.cls(r) : ""].join(" ").trim();
      return `<td${cls ? ` class="${cls}"` : ""}>${text}</td>`;
    };
    let html = `<table><tr>${cols.map((c, k) => `<th data-k="${k}" class="${c.l ? "l" : ""}">${esc(c.h)}</th>`).join("")}</tr>`;
    for (const r of part) html += `<tr data-i="${r.i}" class="${r.i === ctx.doc ? "sel" : ""}">${cols.map((c) => cell(c, r)).join("")}</tr>`;
    const box = document.getElementById("dtab");
    box.innerHTML = html + "</table>";
    document.getElementById("pinfo").textContent = `${list.length.toLocaleString()} documents · page ${ctx.pageNo + 1}/${pages} · by ${ctx.sort.label}`;
    box.querySelectorAll("tr[data-i]").forEach((tr) => { tr.onclick = () => { location.hash = `task=${encodeURIComponent(ctx.task.key)}&doc=${tr.dataset.i}`; }; });
    box.querySelectorAll("th").forEach((th) => {
      th.onclick = () => {
        const c = cols[Number(th.dataset.k)];
        const desc = ctx.sort.label === c.h ? !ctx.sort.desc : true;
        const get = (r) => { const v = c.f(r); return typeof v === "number" ? (Number.isNaN(v) ? -Infinity : v) : String(v); };
        ctx.list.sort((p, q) => { const x = get(p), y = get(q); return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1); });
        ctx.sort = { label: c.h, desc };
        ctx.pageNo = 0;
        drawList(ctx);
      };
    });
  }

  // ---- the document viewer ------------------------------------------------------------
  function selectDoc(i) {
    const ctx = current;
    ctx.doc = i;
    document.querySelectorAll("#dtab tr[data-i]").forEach((tr) => tr.classList.toggle("sel", Number(tr.dataset.i) === i));
    const view = document.getElementById("viewer");
    const id = ctx.A.docs.id[i];
    const j = ctx.B ? ctx.bIndex.get(id) : undefined;
    if (ctx.kind === "cbt") { view.innerHTML = cbtView(ctx, i, j); return; }
    const ha = ctx.ra && i < ctx.ra.ndocs, hb = ctx.rb && j !== undefined && j < ctx.rb.ndocs;
    const modes = [];
    if (ha) modes.push(["A", "A"]);
    if (hb) modes.push(["B", "B"]);
    // Both runs' spans must point into the same original text to be compared.
    const both = ha && hb && original(ctx.ra, i, ctx) === original(ctx.rb, j, ctx);
    const same = both && sameTokens(ctx.ra, i, ctx.rb, j);
    if (both) { if (same) modes.push(["dt", "Δ per token"]); modes.push(["dw", "Δ per word"]); }
    let head = docHead(ctx, i, j, both, both, same);
    if (ha && hb && !both) head += "<p class=warn>The two runs hold different original texts under this id: no Δ view.</p>";
    if (!modes.length) { view.innerHTML = head + "<p class=warn>No token rows for this document.</p>"; return; }
    const stream = ctx.kind === "stream";
    view.innerHTML = head + `<div class="modes">${modes.map(([m, t]) => `<button data-m="${m}">${t}</button>`).join("")}
      ${stream ? `<span class=small>text:</span><button data-v="scored">as scored</button><button data-v="original">original</button>` : ""}
      <span id="leg"></span></div><div class="text" id="text"></div>`;
    const state = { mode: both ? (same ? "dt" : "dw") : modes[0][0], text: "scored" };
    const draw = () => {
      view.querySelectorAll("[data-m]").forEach((b) => b.classList.toggle("on", b.dataset.m === state.mode));
      view.querySelectorAll("[data-v]").forEach((b) => { b.classList.toggle("on", b.dataset.v === state.text); b.disabled = state.mode === "dw"; });
      drawText(ctx, i, j, state);
    };
    view.querySelectorAll("[data-m]").forEach((b) => { b.onclick = () => { state.mode = b.dataset.m; draw(); }; });
    view.querySelectorAll("[data-v]").forEach((b) => { b.onclick = () => { state.text = b.dataset.v; draw(); }; });
    draw();
  }

  function docHead(ctx, i, j, ha, hb, same) {
    const A = ctx.A, B = ctx.B;
    let h = `<h3>${esc(A.docs.id[i])}</h3><div class=small>`;
    const part = (run, k, cls) => {
      if (k === undefined) return "";
      const nll = run.docs.nll ? run.docs.nll[k] : NaN, n = run.docs.tokens ? run.docs.tokens[k] : null, u = run.docs.units ? run.docs.units[k] : null;
      return `<span class=${cls}>${esc(run.label)}</span>: ${fmt(nll, 2)} nats over ${n ?? "?"} tokens${u ? `, ${fmt(nll / u, 3)} per ${DATA.units[ctx.task.task] || "unit"}` : ""}. `;
    };
    h += part(A, i, "run-a") + (B ? part(B, j, "run-b") : "");
    if (B && j !== undefined && A.docs.nll && B.docs.nll) h += `Δ ${sgn(B.docs.nll[j] - A.docs.nll[i], 3)} nats. `;
    if (ha && hb) h += same ? "Same tokens in both runs." : "The runs tokenize this text differently: compare per word of the original.";
    h += "</div>";
    if (ctx.kind === "lambada") {
      const p = (r, k, label) => (r && k !== undefined && k < r.ndocs ? `<div class=small>${label}: target <b>${esc(r.passage.target[k])}</b>,
        predicted <b class="${r.passage.correct_stopword[k] ? "ok" : "bad"}">${esc(r.passage.predicted[k])}</b> (stop-word filter),
        greedy <b>${esc(r.passage.greedy_word[k])}</b>, all target tokens argmax: ${r.passage.correct[k] ? "yes" : "no"}</div>` : "");
      h += p(ctx.ra, i, esc(A.label)) + (B ? p(ctx.rb, j, esc(B.label)) : "");
    }
    return h;
  }

  function sameTokens(ra, i, rb, j) {
    const [a0, a1] = span(ra, i), [b0, b1] = span(rb, j);
    if (a1 - a0 !== b1 - b0) return false;
    for (let k = 0; k < a1 - a0; k++) {
      if (ra.vocab[ra.tok[a0 + k]] !== rb.vocab[rb.tok[b0 + k]] || ra.start[a0 + k] !== rb.start[b0 + k] || ra.end[a0 + k] !== rb.end[b0 + k]) return false;
    }
    return true;
  }

  const original = (r, d, ctx) => (r.originals && r.originals[d] !== undefined ? r.originals[d] : ctx.ra.originals[d]);

  function drawText(ctx, i, j, state) {
    const box = document.getElementById("text"), leg = document.getElementById("leg");
    if (state.mode === "A" || state.mode === "B") {
      const r = state.mode === "A" ? ctx.ra : ctx.rb, d = state.mode === "A" ? i : j, run = state.mode === "A" ? "a" : "b";
      const [lo, hi] = span(r, d);
      leg.innerHTML = legend("heat", ctx.lo, ctx.hi);
      const color = (k) => heat((r.nll[k] - ctx.lo) / (ctx.hi - ctx.lo));
      if (state.text === "scored" && ctx.kind === "stream") {
        chunked(box, hi - lo, (k0, k1) => {
          let s = "";
          for (let k = lo + k0; k < lo + k1; k++) s += tokenSpan(r.vocab[r.tok[k]], run, k, color(k));
          return s;
        });
      } else {
        originalText(box, ctx, r, d, run, color);
      }
    } else if (state.mode === "dt") {
      const [a0, a1] = span(ctx.ra, i), [b0] = span(ctx.rb, j);
      const deltas = new Float64Array(a1 - a0);
      for (let k = 0; k < a1 - a0; k++) deltas[k] = ctx.rb.nll[b0 + k] - ctx.ra.nll[a0 + k];
      const s = Math.max(1e-6, quantile(Array.from(deltas, Math.abs), 0.99));
      leg.innerHTML = legend("div", -s, s);
      const color = (k) => diverge(deltas[k - a0] / s);
      if (state.text === "scored" && ctx.kind === "stream") {
        chunked(box, a1 - a0, (k0, k1) => {
          let out = "";
          for (let k = a0 + k0; k < a0 + k1; k++) out += tokenSpan(ctx.ra.vocab[ctx.ra.tok[k]], "d", k, color(k), b0 + k - a0);
          return out;
        });
      } else {
        originalText(box, ctx, ctx.ra, i, "d", color, (k) => b0 + k - a0);
      }
    } else {
      const w = words(ctx, i, j);
      const vals = w.units.filter((u) => u.has).map((u) => Math.abs(u.b - u.a));
      const s = Math.max(1e-6, quantile(vals, 0.99));
      leg.innerHTML = legend("div", -s, s);
      current.words = w;
      chunked(box, w.pieces.length, (k0, k1) => w.pieces.slice(k0, k1).map(([st, en, u]) => {
        let t = esc(w.text.slice(st, en));
        if (u < 0 || !w.units[u].has) return `<span class=plain>${t}</span>`;
        if (t === "\n") t = "<span class=nl>↵</span>\n"; // a line break is a unit too: show its shade
        const x = w.units[u];
        return `<span data-w="${u}" data-i="${u}" style="background:${diverge((x.b - x.a) / s)}">${t}</span>`;
      }).join(""));
    }
  }

  // The original document, each row's span shaded; what no row covers is left plain.
  function originalText(box, ctx, r, d, run, color, other) {
    const [lo, hi] = span(r, d), text = original(r, d, ctx), segs = segments(text, r, lo, hi);
    chunked(box, segs.length, (k0, k1) => segs.slice(k0, k1).map(([s, e, k]) => (k < 0 ? `<span class=plain>${esc(text.slice(s, e))}</span>`
      : tokenSpan(text.slice(s, e), run, k, color(k), other ? other(k) : undefined))).join(""));
  }

  function tokenSpan(text, run, k, bg, k2) {
    const shown = text.includes("\n") ? esc(text).replace(/\n/g, "<span class=nl>↵</span>\n") : esc(text);
    return `<span data-r="${run}" data-i="${k}"${k2 !== undefined ? ` data-j="${k2}"` : ""} style="background:${bg}">${shown || "<span class=nl>∅</span>"}</span>`;
  }

  // Pieces of the original text: each row's span (k >= 0) and the gaps no row covers (k = -1).
  function segments(text, r, lo, hi) {
    const out = [];
    let at = 0;
    for (let k = lo; k < hi; k++) {
      const s = r.start[k], e = r.end[k];
      if (s > at) out.push([at, s, -1]);
      if (e > Math.max(s, at)) { out.push([Math.max(s, at), e, k]); at = e; } else if (e === s) out.push([s, s, k]);
    }
    if (at < text.length) out.push([at, text.length, -1]);
    return out;
  }

  function chunked(box, n, piece) {
    if (box._obs) box._obs.disconnect();
    box.innerHTML = "";
    box.scrollTop = 0;
    const end = document.createElement("span");
    box.appendChild(end);
    let at = 0;
    const more = () => {
      if (at >= n) return;
      const to = Math.min(n, at + CHUNK);
      end.insertAdjacentHTML("beforebegin", piece(at, to));
      at = to;
      if (at >= n) { obs.disconnect(); end.remove(); }
    };
    const obs = new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) more(); }, { root: box, rootMargin: "800px" });
    box._obs = obs;
    more();
    if (at < n) obs.observe(end);
  }

  // ---- attribution per word of the original text -------------------------------------------
  // Words are the runs of non-space characters and each line break. A token's NLL is shared
  // among the words its original span overlaps, by characters; a token that covers only
  // spaces goes to the next word. So the words' sums are the document's NLL in both runs.
  function units(text) {
    const out = [], re = /\S+|\n/g;
    let m;
    while ((m = re.exec(text))) out.push([m.index, m.index + m[0].length]);
    return out;
  }

  function attribute(r, d, us, into, key) {
    const [lo, hi] = span(r, d);
    let u = 0;
    for (let k = lo; k < hi; k++) {
      const s = r.start[k], e = r.end[k];
      while (u < us.length && us[u][1] <= s) u++;
      let v = u, total = 0;
      const parts = [];
      while (v < us.length && us[v][0] < e) {
        const o = Math.min(e, us[v][1]) - Math.max(s, us[v][0]);
        if (o > 0) { parts.push([v, o]); total += o; }
        v++;
      }
      if (!total) parts.push([Math.min(v, us.length - 1), (total = 1)]);
      for (const [w, o] of parts) {
        if (w < 0) continue;
        into[w][key] += (r.nll[k] * o) / total;
        into[w].has = true;
        into[w][key + "k"].push(k);
      }
    }
  }

  function words(ctx, i, j) {
    const text = original(ctx.ra, i, ctx);
    const us = units(text);
    const u = us.map(() => ({ a: 0, b: 0, has: false, ak: [], bk: [] }));
    attribute(ctx.ra, i, us, u, "a");
    attribute(ctx.rb, j, us, u, "b");
    const pieces = [];
    let at = 0;
    us.forEach(([s, e], k) => { if (s > at) pieces.push([at, s, -1]); pieces.push([s, e, k]); at = e; });
    if (at < text.length) pieces.push([at, text.length, -1]);
    u.forEach((x, k) => { x.text = text.slice(us[k][0], us[k][1]); });
    return { text, units: u, pieces };
  }

  function wordClass(w) {
    if (w === "\n") return "line break";
    if (w.includes("<unk>")) return "<unk>";
    if (/^[^\p{L}\p{N}]+$/u.test(w)) return "punctuation / quotes only";
    if (/@/.test(w)) return "@-@ @,@ @.@ joins";
    if (/\p{N}/u.test(w)) return "has a digit";
    if (/^[^\p{L}]*\p{Lu}/u.test(w)) return "capitalized word";
    return "other word";
  }

  function wordTable(ctx) {
    const byWord = new Map(), byClass = new Map();
    let total = 0, docs = 0;
    ctx.A.docs.id.forEach((id, i) => {
      const j = ctx.bIndex.get(id);
      if (j === undefined || i >= ctx.ra.ndocs || j >= ctx.rb.ndocs || original(ctx.ra, i, ctx) !== original(ctx.rb, j, ctx)) return;
      docs++;
      for (const x of words(ctx, i, j).units) {
        if (!x.has) continue;
        const d = x.b - x.a;
        total += d;
        for (const [map, key] of [[byWord, x.text], [byClass, wordClass(x.text)]]) {
          const e = map.get(key) || { n: 0, d: 0 };
          e.n++; e.d += d;
          map.set(key, e);
        }
      }
    });
    const table = (entries, title, raw) => `<table class=words><tr><th class=l>${title}</th><th>count</th><th>Σ Δ nats</th><th>mean Δ</th></tr>${entries
      .map(([k, e]) => `<tr><td class=l>${raw ? esc(k) : `<code>${esc(show(k))}</code>`}</td><td>${e.n.toLocaleString()}</td><td>${sgn(e.d, 2)}</td><td>${sgn(e.d / e.n, 3)}</td></tr>`).join("")}</table>`;
    const sorted = [...byWord.entries()].sort((p, q) => q[1].d - p[1].d);
    const classes = [...byClass.entries()].sort((p, q) => Math.abs(q[1].d) - Math.abs(p[1].d));
    return `<p class=small>${docs.toLocaleString()} documents, Σ Δ = ${sgn(total, 2)} nats (B − A).</p>
      <div class=row><div>${table(classes, "kind of word", true)}</div><div>${table(sorted.slice(0, 12), "B worse: word")}</div>
      <div>${table(sorted.slice(-12).reverse(), "B better: word")}</div></div>`;
  }

  // ---- CBT: the candidates of one question ------------------------------------------------
  function cbtView(ctx, i, j) {
    const qa = ctx.A.tok && ctx.A.tok.questions[i], qb = ctx.B && ctx.B.tok && j !== undefined ? ctx.B.tok.questions[j] : null;
    if (!qa) return `<h3>${esc(ctx.A.docs.id[i])}</h3><p class=warn>No candidate rows for this question.</p>`;
    const all = [...qa.nll, ...(qb ? qb.nll : [])], lo = Math.min(...all), hi = Math.max(...all);
    const bar = (v, cls) => `<div class="bar ${cls}" style="width:${Math.max(2, (100 * (v - lo)) / (hi - lo || 1))}%"></div>`;
    let rowsHtml = "";
    qa.cand.forEach((c, k) => {
      const mark = (q) => (q.chosen === k ? (k === q.answer ? " <b class=ok>✓ chosen</b>" : " <b class=bad>✗ chosen</b>") : "");
      rowsHtml += `<tr><td class=l>${esc(c)}${k === qa.answer ? " <b>(answer)</b>" : ""}</td><td>${fmt(qa.nll[k], 2)}${mark(qa)}</td><td class=barc>${bar(qa.nll[k], "")}</td>
        ${qb ? `<td>${fmt(qb.nll[k], 2)}${mark(qb)}</td><td class=barc>${bar(qb.nll[k], "b")}</td><td>${sgn(qb.nll[k] - qa.nll[k], 2)}</td>` : ""}</tr>`;
    });
    const question = esc(qa.text.slice(0, qa.blank)) + "<b>XXXXX</b>" + esc(qa.text.slice(qa.blank + 5));
    return `<h3>${esc(ctx.A.docs.id[i])}</h3><table class=cands><tr><th class=l>candidate</th><th>A: Σ NLL</th><th></th>
      ${qb ? "<th>B: Σ NLL</th><th></th><th>Δ</th>" : ""}</tr>${rowsHtml}</table>
      <p class=small>Σ NLL of the candidate and the rest of the query, given the 20 sentences (the lowest is chosen).</p>
      <div class="text" style="height:40vh">${question}</div>`;
  }

  // ---- hover ----------------------------------------------------------------------------
  function tipFor(t) {
    const ctx = current;
    if (!ctx) return "";
    if (t.dataset.w !== undefined) {
      const x = ctx.words.units[Number(t.dataset.w)];
      const list = (r, ks) => ks.map((k) => `<code>${esc(show(r.vocab[r.tok[k]]))}</code> ${fmt(r.nll[k], 2)}`).join(" ");
      return `<div>word <code>${esc(show(x.text))}</code></div><div><span class=k>A</span> ${fmt(x.a, 3)} nats: ${list(ctx.ra, x.ak)}</div>
        <div><span class=k>B</span> ${fmt(x.b, 3)} nats: ${list(ctx.rb, x.bk)}</div><div>Δ B − A: <b>${sgn(x.b - x.a, 3)}</b> nats</div>`;
    }
    const k = Number(t.dataset.i), run = t.dataset.r;
    const one = (r, k, label) => {
      const nll = r.nll[k];
      return `<div>${label}token <code>${esc(show(r.vocab[r.tok[k]]))}</code> · NLL ${fmt(nll, 3)} nats · log-prob ${fmt(-nll, 3)} · p ${(Math.exp(-nll)).toExponential(2)}</div>
        <div><span class=k>context</span> ${r.ctx[k].toLocaleString()} tokens · <span class=k>argmax</span> ${r.greedy[k] ? "yes" : "no"} · <span class=k>original</span> <code>${esc(show(originalOf(r, k)))}</code></div>`;
    };
    if (run === "d") {
      const j = Number(t.dataset.j);
      return one(ctx.ra, k, "A ") + one(ctx.rb, j, "B ") + `<div>Δ B − A: <b>${sgn(ctx.rb.nll[j] - ctx.ra.nll[k], 3)}</b> nats</div>`;
    }
    return one(run === "a" ? ctx.ra : ctx.rb, k, "");
  }

  function originalOf(r, k) {
    let lo = 0, hi = r.ndocs - 1; // the document holding row k
    while (lo < hi) { const m = (lo + hi + 1) >> 1; if (r.docStart[m] <= k) lo = m; else hi = m - 1; }
    const text = original(r, lo, current);
    return text ? text.slice(r.start[k], r.end[k]) : "";
  }

  document.addEventListener("mouseover", (e) => {
    const t = e.target.closest && e.target.closest(".text [data-i]");
    if (!t) { tip.hidden = true; return; }
    tip.innerHTML = tipFor(t);
    tip.hidden = false;
  });
  document.addEventListener("mousemove", (e) => {
    if (tip.hidden) return;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(window.innerWidth - w - 8, e.clientX + 14) + "px";
    tip.style.top = (e.clientY + h + 24 > window.innerHeight ? e.clientY - h - 12 : e.clientY + 16) + "px";
  });

  route();
})();
