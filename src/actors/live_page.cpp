#include "actors/live_page.hpp"

#include <boost/json.hpp>

namespace sluice {

std::string topology_json(const topology& topo) {
  const char* kinds[] = {"source", "processor", "sink"};
  boost::json::array subs;
  for (const auto& s : topo.subtopologies()) {
    boost::json::array nodes;
    for (int id : s.nodes) {
      const auto& n = topo.nodes()[static_cast<size_t>(id)];
      boost::json::array topics, children;
      for (const auto& t : n.topics)
        topics.emplace_back(topo.resolve_topic(t));
      for (const auto& port : n.outputs)
        for (int c : port)
          children.emplace_back(topo.nodes()[static_cast<size_t>(c)].name);
      boost::json::object node{{"name", n.name},
                               {"kind", kinds[static_cast<int>(n.kind)]},
                               {"topics", std::move(topics)},
                               {"children", std::move(children)}};
      if (n.store)
        node["store"] = {
          {"name", n.store->name}, {"windowed", n.store->windowed}, {"changelog", topo.changelog_topic(n.store->name)}};
      nodes.push_back(std::move(node));
    }
    boost::json::array sources;
    for (const auto& t : s.source_topics)
      sources.emplace_back(topo.resolve_topic(t));
    subs.push_back({{"id", s.id}, {"source_topics", std::move(sources)}, {"nodes", std::move(nodes)}});
  }
  return boost::json::serialize(
    boost::json::object{{"application_id", topo.application_id()}, {"subtopologies", std::move(subs)}});
}

const std::string& live_page_html() {
  static const std::string page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sluice</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f5f7fa; }
  header { background: #1d2733; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .state { font-weight: 600; }
  .ready { color: #5fd08a; } .not-ready { color: #f3b04a; }
  main { display: grid; grid-template-columns: 1fr 360px; gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.12); padding: 12px 16px; }
  h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #5b6b7c; }
  svg text { font: 12px system-ui, sans-serif; }
  .op rect { fill: #e8f0fb; stroke: #3a6fb0; } .op.source rect { fill: #e6f6ec; stroke: #2f8a50; }
  .op.sink rect { fill: #fbeee6; stroke: #b0603a; } .topic rect { fill: #fff; stroke: #8a96a3; stroke-dasharray: 4 2; }
  .store rect { fill: #f3ecfb; stroke: #7a4fb0; }
  .rate { fill: #1d2733; font-weight: 600; } .edge { stroke: #8a96a3; fill: none; marker-end: url(#arrow); }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 2px 6px; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  #alerts li { margin-bottom: 6px; font-family: ui-monospace, monospace; font-size: 12px; word-break: break-word; }
  #alerts { padding-left: 18px; margin: 0; }
</style>
</head>
<body>
<header><h1 id="app">sluice</h1><span id="state" class="state">…</span><span id="totals"></span></header>
<main>
  <section><h2>Topology</h2><div id="graph"></div></section>
  <div>
    <section><h2>Lag per partition</h2><table id="lag"><tr><th>partition</th><th>task</th><th>lag</th><th>records/s</th></tr></table></section>
    <section style="margin-top:16px"><h2>Latest alerts</h2><ol id="alerts"></ol></section>
  </div>
</main>
<script>
"use strict";
const W = 170, H = 44, GAP_X = 40, GAP_Y = 34;
// Recent scrapes, {uptime, ops: {operator: records_in}, parts: {partition: consumed}}: rates are
// taken over the last few seconds of the instance's uptime.
const history = [];
const RATE_WINDOW_S = 5;

function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({name: m[1], labels, value: Number(m[3])});
  }
  return out;
}

function el(name, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function box(svg, x, y, cls, title, subtitle, id) {
  const g = el("g", {class: cls, transform: `translate(${x},${y})`});
  if (id) g.setAttribute("data-operator", id);
  g.appendChild(el("rect", {width: W, height: H, rx: 6}));
  g.appendChild(el("text", {x: 8, y: 17}, title.length > 24 ? title.slice(0, 23) + "…" : title));
  const sub = el("text", {x: 8, y: 34, class: id ? "rate" : ""}, subtitle);
  if (id) sub.setAttribute("data-rate", id);
  g.appendChild(sub);
  g.appendChild(el("title", {}, title));
  svg.appendChild(g);
}

function drawTopology(topo) {
  document.getElementById("app").textContent = topo.application_id;
  document.title = topo.application_id + " — sluice";
  const graph = document.getElementById("graph");
  graph.innerHTML = "";
  let y0 = 0;
  const svg = el("svg", {});
  const defs = el("defs", {});
  const marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto"});
  marker.appendChild(el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#8a96a3"}));
  defs.appendChild(marker);
  svg.appendChild(defs);
  let width = 0;
  for (const sub of topo.subtopologies) {
    // Rows by depth from the sources; topics above sources and below sinks.
    const depth = {}, byName = {};
    for (const n of sub.nodes) byName[n.name] = n;
    for (const n of sub.nodes) if (!(n.name in depth)) depth[n.name] = 0;
    for (const n of sub.nodes) for (const c of n.children) depth[c] = Math.max(depth[c] || 0, depth[n.name] + 1);
    const rows = [];
    for (const n of sub.nodes) (rows[depth[n.name] + 1] = rows[depth[n.name] + 1] || []).push({kind: "op", node: n});
    rows[0] = sub.source_topics.map(t => ({kind: "topic", name: t}));
    const sinks = [], stores = [];
    for (const n of sub.nodes) {
      if (n.kind === "sink") for (const t of n.topics) sinks.push({kind: "topic", name: t, from: n.name});
      if (n.store) stores.push({kind: "store", node: n});
    }
    rows.push(sinks.concat(stores));
    svg.appendChild(el("text", {x: 0, y: y0 + 14, fill: "#5b6b7c"}, "sub-topology " + sub.id));
    y0 += 24;
    const pos = {};
    rows.forEach((row, r) => {
      (row || []).forEach((item, i) => {
        const x = i * (W + GAP_X), y = y0 + r * (H + GAP_Y);
        width = Math.max(width, x + W);
        if (item.kind === "topic") {
          box(svg, x, y, "topic", item.name, "topic");
          pos["topic:" + item.name + (item.from ? ":out" : "")] = {x, y};
          if (item.from) pos["sink-of:" + item.from + ":" + item.name] = {x, y};
        } else if (item.kind === "store") {
          box(svg, x, y, "store", item.node.store.name, (item.node.store.windowed ? "window store" : "key-value store"));
          pos["store:" + item.node.name] = {x, y};
        } else {
          box(svg, x, y, "op " + item.node.kind, item.node.name, "…", item.node.name);
          pos[item.node.name] = {x, y};
        }
      });
    });
    const edge = (a, b) => a && b && svg.insertBefore(el("path", {class: "edge",
      d: `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + GAP_Y / 2} ${b.x + W / 2},${b.y - GAP_Y / 2} ${b.x + W / 2},${b.y}`}), svg.firstChild.nextSibling);
    for (const n of sub.nodes) {
      if (n.kind === "source") for (const t of n.topics) edge(pos["topic:" + t], pos[n.name]);
      for (const c of n.children) edge(pos[n.name], pos[c]);
      if (n.kind === "sink") for (const t of n.topics) edge(pos[n.name], pos["sink-of:" + n.name + ":" + t]);
      if (n.store) edge(pos[n.name], pos["store:" + n.name]);
    }
    y0 += rows.length * (H + GAP_Y) + 10;
  }
  svg.setAttribute("width", width + 2);
  svg.setAttribute("height", y0);
  graph.appendChild(svg);
}

function fmt(x) { return x >= 1e6 ? (x / 1e6).toFixed(2) + " M" : x >= 1e4 ? (x / 1e3).toFixed(1) + " k" : Math.round(x).toString(); }

async function refresh() {
  try {
    const [metricsText, health, alerts] = await Promise.all([
      fetch("/metrics").then(r => r.text()), fetch("/health").then(r => r.json()), fetch("/alerts").then(r => r.json())]);
    const samples = parseMetrics(metricsText);
    const ops = {}, parts = {}, lag = {};
    let processed = 0, uptime = 0;
    for (const s of samples) {
      if (s.name === "sluice_operator_records_in_total") ops[s.labels.operator] = (ops[s.labels.operator] || 0) + s.value;
      if (s.name === "sluice_partition_records_consumed_total") parts[s.labels.topic + "-" + s.labels.partition] = {task: s.labels.task, value: s.value};
      if (s.name === "sluice_consumer_lag_records") lag[s.labels.topic + "-" + s.labels.partition] = s.value;
      if (s.name === "sluice_records_processed_total") processed = s.value;
      if (s.name === "sluice_uptime_seconds") uptime = s.value;
    }
    if (history.length && uptime <= history[history.length - 1].uptime) history.pop(); // same instant
    while (history.length > 1 && uptime - history[1].uptime >= RATE_WINDOW_S) history.shift();
    const previous = history[0];
    history.push({uptime, ops, parts});
    const secs = previous ? uptime - previous.uptime : 0;
    const rate = (v, before) => secs > 0 && before !== undefined ? Math.max(0, (v - before) / secs) : 0;
    for (const t of document.querySelectorAll("[data-rate]")) {
      const name = t.getAttribute("data-rate");
      t.textContent = fmt(rate(ops[name] || 0, previous && previous.ops[name])) + " records/s";
    }
    const table = document.getElementById("lag");
    while (table.rows.length > 1) table.deleteRow(1);
    for (const key of Object.keys(parts).sort()) {
      const row = table.insertRow();
      row.insertCell().textContent = key;
      row.insertCell().textContent = parts[key].task;
      const l = row.insertCell(); l.className = "n"; l.textContent = key in lag ? fmt(lag[key]) : "?";
      const r = row.insertCell(); r.className = "n";
      r.textContent = fmt(rate(parts[key].value, previous && previous.parts[key] && previous.parts[key].value));
    }
    const state = document.getElementById("state");
    state.textContent = health.ready ? "ready" : health.state + ": " + health.reason;
    state.className = "state " + (health.ready ? "ready" : "not-ready");
    document.getElementById("totals").textContent = `${health.tasks} task(s), ${health.partitions} partition(s), ${fmt(processed)} records processed`;
    const list = document.getElementById("alerts");
    list.innerHTML = "";
    for (const a of alerts) {
      const li = document.createElement("li");
      li.textContent = new Date(a.time).toISOString().slice(11, 19) + " " + a.operator + ": " + a.text;
      list.appendChild(li);
    }
    if (!alerts.length) list.innerHTML = "<li>none yet</li>";
  } catch (e) {
    document.getElementById("state").textContent = "unreachable: " + e;
  }
}

fetch("/topology").then(r => r.json()).then(t => { drawTopology(t); refresh(); setInterval(refresh, 1000); });
</script>
</body>
</html>
)html";
  return page;
}

} // namespace sluice
