"""``/api/measurements``, ``/api/deployments`` and the ``/measurements`` page.

What ``edgewise measurements list|show`` and ``edgewise deployments list`` read, over
HTTP, and drawn: a measurement's latency CDF and its I/O vs compute split, and the
registry's predicted vs observed latencies.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from edgewise._json import json_safe
from edgewise.errors import UnknownNameError
from edgewise.service._app import RowId, get_store
from edgewise.store import Store

router = APIRouter(prefix="/api", tags=["measurements"])
page_router = APIRouter(include_in_schema=False)

#: Points of the CDF a measurement's page draws (the raw latencies can be 100,000s).
CDF_POINTS = 201


@router.get("/measurements", summary="Stored measurements, newest first")
def measurements(
    store: Annotated[Store, Depends(get_store)],
    device: Annotated[str | None, Query(max_length=200)] = None,
    model: Annotated[str | None, Query(max_length=64, description="sha256 prefix")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    from edgewise.profile import measurement_doc

    rows = store.list_measurements(model_sha256=model, device=device, limit=limit)
    return json_safe([measurement_doc(m) for m in rows])


@router.get("/measurements/{measurement_id}", summary="One measurement, with its latency CDF")
def measurement(
    measurement_id: RowId,
    store: Annotated[Store, Depends(get_store)],
    latencies: Annotated[bool, Query(description="include every query's latency")] = False,
) -> Any:
    from edgewise.profile import measurement_doc

    m = store.get_measurement(measurement_id)
    if m is None:
        raise UnknownNameError(
            "measurement", str(measurement_id), advice="GET /api/measurements lists them"
        )
    doc = measurement_doc(m, full=True)
    values = np.asarray(doc["latencies_ms"], dtype=float)
    levels = np.linspace(0.0, 1.0, CDF_POINTS)
    doc["cdf"] = {
        "p": levels.tolist(),
        "ms": np.quantile(values, levels).tolist() if values.size else [],
    }
    if not latencies:
        del doc["latencies_ms"]
    return json_safe(doc)


@router.get("/deployments", summary="The deployment registry, newest first")
def deployments(
    store: Annotated[Store, Depends(get_store)],
    device: Annotated[str | None, Query(max_length=200)] = None,
    event: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    from edgewise.deploy import list_deployments

    events = list_deployments(store=store, device=device, event=event, limit=limit)
    return json_safe([e.to_dict() for e in events])


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgewise: measurements</title>
<script src="/static/plotly.min.js"></script>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}td,th{border:1px solid #ccc;
padding:2px 6px;text-align:right}th{background:#f4f4f4}td.l{text-align:left}
tr.m{cursor:pointer}tr.m:hover{background:#eef}#status{margin:.6em 0}.err{color:#b00}
.row{display:flex;flex-wrap:wrap;gap:1em}.row>div{flex:1 1 520px}
</style></head><body>
<h1>Measurements</h1>
<p>What <code>edgewise profile</code> stored: pick one for its latency CDF and its I/O vs
compute split. Below, the deployment registry's predicted vs observed latencies.
<a href="/">Chip ranking</a>, <a href="/shadow">shadow runs</a>, <a href="/docs">API</a>.</p>
<div id="status">loading...</div><table id="list"></table>
<div class="row"><div id="cdf"></div><div id="split"></div></div>
<h2>Predicted vs observed</h2><div id="pvo"></div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;"}[c]));
function status(text, err) {
  const s = document.getElementById("status"); s.textContent = text; s.className = err ? "err" : "";
}
async function init() {
  const resp = await fetch("/api/measurements?limit=200");
  const rows = await resp.json();
  if (!resp.ok) { status(rows.error, true); return; }
  status(rows.length ? rows.length + " measurements; click one" :
         "no measurements stored yet: run `edgewise profile MODEL`");
  const t = document.getElementById("list");
  if (rows.length) t.innerHTML = "<tr><th>id</th><th>when</th><th>model</th><th>device</th>" +
    "<th>scenario</th><th>queries</th><th>p50 ms</th><th>p99 ms</th><th>valid</th></tr>";
  for (const m of rows) {
    const r = t.insertRow(); r.className = "m"; r.dataset.id = m.measurement_id;
    r.innerHTML = "<td>" + m.measurement_id + "</td><td class=l>" +
      esc((m.created_at || "").slice(0, 19)) + "</td><td class=l>" + esc(m.model.name) +
      "</td><td class=l>" + esc(m.device.name) + "</td><td class=l>" + esc(m.scenario) +
      "</td><td>" + m.queries + "</td><td>" + m.latency_ms.p50.toPrecision(4) + "</td><td>" +
      m.latency_ms.p99.toPrecision(4) + "</td><td>" + (m.valid ? "yes" : "NO") + "</td>";
    r.addEventListener("click", () => show(m.measurement_id));
  }
  if (rows.length) await show(rows[0].measurement_id);
  await registry();
}
async function show(id) {
  const resp = await fetch("/api/measurements/" + id);
  const m = await resp.json();
  if (!resp.ok) { status(m.error, true); return; }
  const name = m.model.name + " on " + m.device.name + " (" + m.scenario + ")";
  Plotly.newPlot("cdf", [{x: m.cdf.ms, y: m.cdf.p, mode: "lines", name: "end to end"}], {
    title: "Latency CDF: " + name, xaxis: {title: "latency (ms)", type: "log"},
    yaxis: {title: "fraction of queries", range: [0, 1]}, height: 380});
  const parts = ["queue", "io", "compute"].filter(k => m.breakdown_ms && m.breakdown_ms[k]);
  Plotly.newPlot("split", parts.map(k => ({type: "bar", name: k,
    x: ["p50", "p90", "p99"], y: ["p50", "p90", "p99"].map(q => m.breakdown_ms[k][q])})), {
    title: "I/O vs compute (ms)", barmode: "group", height: 380});
  document.body.dataset.shown = String(id);
}
async function registry() {
  const events = (await (await fetch("/api/deployments")).json())
    .filter(e => e.predicted_ms != null && e.observed_ms != null);
  const box = document.getElementById("pvo");
  if (!events.length) { box.textContent = "no registry event has both a prediction and an " +
    "observation yet (gate a measured model, or promote or roll back a shadowed one)"; return; }
  const lo = Math.min(...events.map(e => Math.min(e.predicted_ms, e.observed_ms)));
  const hi = Math.max(...events.map(e => Math.max(e.predicted_ms, e.observed_ms)));
  Plotly.newPlot(box, [
    {x: events.map(e => e.observed_ms), y: events.map(e => e.predicted_ms), mode: "markers",
     name: "events", text: events.map(e => e.event + " " + e.model + " on " + e.device),
     error_y: {type: "data", symmetric: false,
       array: events.map(e => e.predicted_hi_ms == null ? 0 : e.predicted_hi_ms - e.predicted_ms),
       arrayminus: events.map(e => e.predicted_lo_ms == null ? 0 : e.predicted_ms - e.predicted_lo_ms)}},
    {x: [lo, hi], y: [lo, hi], mode: "lines", name: "predicted = observed",
     line: {dash: "dash", color: "#888"}}],
    {xaxis: {title: "observed (ms)", type: "log"}, yaxis: {title: "predicted (ms)", type: "log"},
     height: 420});
  document.body.dataset.registry = String(events.length);
}
init();
</script></body></html>
"""


@page_router.get("/measurements", response_class=HTMLResponse)
def measurements_page() -> str:
    """Stored measurements (CDF, I/O vs compute) and the registry's predicted vs observed."""
    return _PAGE
