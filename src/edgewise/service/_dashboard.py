"""The dashboard page: pick a benchmark and an SLO, see the chip ranking chart.

The page draws with plotly.js, served from the installed plotly package (no CDN), from
the same JSON ``POST /api/recommend`` returns.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from edgewise.recommend._figures import COLOURS

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    return Response(
        _plotly_js(),
        media_type="application/javascript",
        headers={"Cache-Control": "max-age=86400"},
    )


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgewise: chip ranking</title>
<script src="/static/plotly.min.js"></script>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;color:#222}
form{display:flex;gap:1em;align-items:end;flex-wrap:wrap}label{display:flex;flex-direction:column;
font-size:.85em;color:#555}#status{margin:.8em 0;color:#333}.err{color:#b00}
table{border-collapse:collapse;margin-top:1em;font-size:.85em}td,th{border:1px solid #ccc;
padding:2px 6px}th{background:#f4f4f4}
</style></head><body>
<h1>Chip ranking</h1>
<p>Latency per chip with its interval: <span style="color:MEASURED">measured</span> (median of
published results) or <span style="color:PREDICTED">predicted</span> (low-rank completion).
Measurements: <a href="/measurements">/measurements</a>; shadow runs:
<a href="/shadow">/shadow</a>; API docs: <a href="/docs">/docs</a>.</p>
<form id="q">
<label>benchmark<select id="benchmark"></select></label>
<label>SLO (ms)<input id="slo" type="number" step="any" min="0" value="1"></label>
<label>percentile<select id="pct"><option value="">default</option><option>50</option>
<option>90</option><option>99</option></select></label>
<label>max power (W)<input id="power" type="number" step="any" min="0"></label>
<button type="submit">Recommend</button></form>
<div id="status">loading...</div><div id="chart"></div><table id="table"></table>
<script>
const COLOURS = {measured: "MEASURED", predicted: "PREDICTED"};
const params = new URLSearchParams(location.search);
async function init() {
  const names = await (await fetch("/api/benchmarks")).json();
  const sel = document.getElementById("benchmark");
  for (const n of names) { const o = document.createElement("option"); o.text = n; sel.add(o); }
  sel.value = params.get("benchmark") || (names.includes("resnet50") ? "resnet50" : names[0]);
  if (params.get("slo_ms")) document.getElementById("slo").value = params.get("slo_ms");
  if (!names.length) { status("the catalog is empty: run `edgewise catalog import`", true); return; }
  await run();
}
function status(text, err) {
  const s = document.getElementById("status"); s.textContent = text;
  s.className = err ? "err" : "";
}
async function run() {
  const body = {benchmark: document.getElementById("benchmark").value,
                slo_ms: parseFloat(document.getElementById("slo").value)};
  const pct = document.getElementById("pct").value; if (pct) body.percentile = parseInt(pct);
  const pw = document.getElementById("power").value; if (pw) body.max_power_w = parseFloat(pw);
  status("ranking...");
  const resp = await fetch("/api/recommend", {method: "POST",
    headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
  const doc = await resp.json();
  if (resp.status === 422 && doc.recommendation) { draw(doc.recommendation, true); return; }
  if (!resp.ok) { status(doc.error || JSON.stringify(doc.detail), true); return; }
  draw(doc, false);
}
function draw(rec, none) {
  const opts = (none ? rec.nearest_misses : rec.ranked).slice(0, 25);
  status(rec.summary + (rec.notes.length ? " (" + rec.notes.join("; ") + ")" : ""), none);
  const traces = [];
  for (const src of ["measured", "predicted"]) {
    const o = opts.filter(x => x.source === src);
    if (!o.length) continue;
    traces.push({type: "scatter", mode: "markers", name: src, x: o.map(x => x.latency_ms),
      y: o.map(x => x.chip), text: o.map(x => x.why), marker: {color: COLOURS[src], size: 9},
      hovertemplate: "%{y}: %{x:.3g} ms<br>%{text}<extra></extra>",
      error_x: {type: "data", symmetric: false, array: o.map(x => x.upper_ms - x.latency_ms),
                arrayminus: o.map(x => x.latency_ms - x.lower_ms)}});
  }
  Plotly.newPlot("chart", traces, {
    title: rec.benchmark + " " + rec.scenario + " p" + rec.percentile + ", SLO " + rec.slo_ms + " ms",
    xaxis: {title: "p" + rec.percentile + " latency (ms)", type: "log"},
    yaxis: {autorange: "reversed", categoryorder: "array", categoryarray: opts.map(x => x.chip)},
    shapes: [{type: "line", xref: "x", yref: "paper", x0: rec.slo_ms, x1: rec.slo_ms, y0: 0, y1: 1,
              line: {color: "#c00", dash: "dash"}}],
    height: Math.max(320, 28 * opts.length + 140), margin: {l: 320}, showlegend: true});
  const t = document.getElementById("table");
  t.innerHTML = "<tr><th>#</th><th>chip</th><th>latency ms</th><th>interval</th><th>source</th>" +
    "<th>fit</th><th>why</th></tr>";
  opts.forEach((o, i) => { const r = t.insertRow();
    [i + 1, o.chip, o.latency_ms.toPrecision(3), o.lower_ms.toPrecision(3) + "-" +
     o.upper_ms.toPrecision(3), o.source, o.fit, o.why].forEach(v => {
       r.insertCell().textContent = v; }); });
  document.body.dataset.points = String(opts.length);
}
document.getElementById("q").addEventListener("submit", e => { e.preventDefault(); run(); });
init();
</script></body></html>
"""


@router.get("/", response_class=HTMLResponse)
def dashboard() -> str:
    """The ranking dashboard."""
    return _PAGE.replace("MEASURED", COLOURS["measured"]).replace("PREDICTED", COLOURS["predicted"])
