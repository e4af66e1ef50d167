"""``/api/shadow/runs`` and the ``/shadow`` page: stored shadow runs, read back.

Thin handlers over :mod:`edgewise.shadow._history`, the same data as ``edgewise shadow
runs`` and ``edgewise shadow show``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from edgewise._json import json_safe
from edgewise.service._app import RowId, get_store
from edgewise.store import Store

router = APIRouter(prefix="/api/shadow", tags=["shadow"])
page_router = APIRouter(include_in_schema=False)


@router.get("/runs", summary="Stored shadow runs, newest first")
def runs(
    store: Annotated[Store, Depends(get_store)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> Any:
    from edgewise.shadow._history import list_runs

    return json_safe(list_runs(store, limit=limit))


@router.get("/runs/{run_id}", summary="One run: per-candidate summaries, verdicts, events")
def run(run_id: RowId, store: Annotated[Store, Depends(get_store)]) -> Any:
    from edgewise.shadow._history import run_report

    return json_safe(run_report(store, run_id))


@router.get("/runs/{run_id}/bands", summary="A candidate's and production's latency bands")
def bands(
    run_id: RowId,
    store: Annotated[Store, Depends(get_store)],
    candidate: Annotated[str, Query(min_length=1, max_length=200)],
) -> Any:
    from edgewise.shadow._history import latency_bands

    return json_safe(latency_bands(store, run_id, candidate))


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgewise: shadow runs</title>
<script src="/static/plotly.min.js"></script>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}td,th{border:1px solid #ccc;
padding:2px 6px;text-align:right}th{background:#f4f4f4}td:first-child,td.l{text-align:left}
tr.run{cursor:pointer}tr.run:hover{background:#eef}.reason{color:#444;font-size:.85em}
#status{margin:.6em 0}.err{color:#b00}
</style></head><body>
<h1>Shadow runs</h1>
<p>Each run as stored: candidates judged on mirrored production traffic, each replica timed
on its own clock. <a href="/">Chip ranking</a>, <a href="/measurements">measurements</a>,
<a href="/docs">API</a>.</p>
<div id="status">loading...</div><table id="runs"></table><div id="run"></div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;"}[c]));
const ms = q => q && q.ms != null ? q.ms.toPrecision(3) + " (" +
  (q.ci95[0] == null ? "-" : q.ci95[0].toPrecision(3)) + "-" +
  (q.ci95[1] == null ? "inf" : q.ci95[1].toPrecision(3)) + ")" : "-";
function status(text, err) {
  const s = document.getElementById("status"); s.textContent = text; s.className = err ? "err" : "";
}
async function init() {
  const resp = await fetch("/api/shadow/runs?limit=100");
  const runs = await resp.json();
  if (!resp.ok) { status(runs.error, true); return; }
  if (!runs.length) { status("no shadow runs stored yet (`edgewise shadow serve` records them)"); return; }
  status(runs.length + " runs; click one");
  const t = document.getElementById("runs");
  t.innerHTML = "<tr><th>run</th><th>started</th><th>name</th><th>device</th><th>production</th>" +
    "<th>pairs</th><th>verdicts</th></tr>";
  for (const r of runs) {
    const row = t.insertRow(); row.className = "run"; row.dataset.id = r.id;
    row.innerHTML = "<td>" + r.id + "</td><td class=l>" + esc((r.time || "").slice(0, 19)) +
      "</td><td class=l>" + esc(r.name) + "</td><td class=l>" + esc(r.device) + "</td><td class=l>" +
      esc(r.production.path || r.production.url || r.production.name) + "</td><td>" + r.pairs +
      "</td><td class=l>" + esc(Object.entries(r.verdicts).map(([k, v]) => k + " " + v).join(", ")) +
      "</td>";
    row.addEventListener("click", () => show(r.id));
  }
  const want = new URLSearchParams(location.search).get("run");
  if (want) show(parseInt(want));
}
async function show(id) {
  const resp = await fetch("/api/shadow/runs/" + id);
  const doc = await resp.json();
  if (!resp.ok) { status(doc.error, true); return; }
  status("run " + id + ": " + doc.name + " on " + doc.device);
  const box = document.getElementById("run"); box.innerHTML = "";
  for (const c of doc.candidates) {
    const div = document.createElement("div"); box.appendChild(div);
    const last = c.history.length ? c.history[c.history.length - 1].reason : "no verdict stored";
    div.innerHTML = "<h2>" + esc(c.name) + ": " + esc(c.verdict) + "</h2><p class=reason>" +
      esc(last) + "</p><table><tr><th></th><th>p50 ms (95% CI)</th><th>p99 ms (95% CI)</th></tr>" +
      "<tr><td>production</td><td>" + ms(c.production.p50) + "</td><td>" + ms(c.production.p99) +
      "</td></tr><tr><td>candidate</td><td>" + ms(c.candidate.p50) + "</td><td>" +
      ms(c.candidate.p99) + "</td></tr></table><p>" + c.pairs + " pairs, " + c.censored +
      " censored, " + c.disagreements + " disagreeing</p>";
    if (!c.pairs) continue;
    const chart = document.createElement("div"); chart.className = "chart"; div.appendChild(chart);
    const b = await (await fetch("/api/shadow/runs/" + id + "/bands?candidate=" +
      encodeURIComponent(c.name))).json();
    const traces = [];
    for (const [name, colour] of [["production", "31,119,180"], ["candidate", "214,39,40"]]) {
      const s = b[name];
      traces.push({x: s.x, y: s.p90, mode: "lines", line: {width: 0}, showlegend: false,
                   hoverinfo: "skip"});
      traces.push({x: s.x, y: s.p10, mode: "lines", fill: "tonexty", line: {width: 0},
                   fillcolor: "rgba(" + colour + ",0.2)", name: name + " p10-p90"});
      traces.push({x: s.x, y: s.p50, mode: "lines", line: {color: "rgb(" + colour + ")"},
                   name: name + " p50"});
    }
    Plotly.newPlot(chart, traces, {title: c.name + " vs production, each on its own clock",
      xaxis: {title: "paired request"}, yaxis: {title: "latency (ms)"}, height: 380});
  }
  document.body.dataset.shown = String(id);
}
init();
</script></body></html>
"""


@page_router.get("/shadow", response_class=HTMLResponse)
def shadow_page() -> str:
    """Stored shadow runs: pick one, see each candidate against production."""
    return _PAGE
