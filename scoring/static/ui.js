/* The monitoring page: models, their versions and aliases, monitoring charts (uPlot) and the
 * review list. Everything is read from the service's JSON API; every value from it reaches the
 * DOM as text (el() never sets HTML), so field names and categories cannot inject markup.
 * No build step: one plain script for current browsers. */
(function () {
  "use strict";

  const WINDOWS = ["hour", "day", "week"];
  const FILTERS = ["all", "unreviewed", "flagged", "disagreed", "low_confidence"];
  const COLORS = ["#2f6fb0", "#e07b24", "#3a9b5c", "#8e5ab5", "#c2a02b", "#2aa3a3", "#b5526e", "#7a6a58"];
  const BAR = "#2f6fb0";
  const BASE = "#9aa5b1";
  const BAD = "#c62f3b";
  const AXIS = { stroke: "#616e7c", grid: { stroke: "#eef2f6" }, ticks: { stroke: "#d9e2ec" } };
  const HEIGHT = 220;
  const PAGE = 25; // cases per page of the review list
  const MAX_CASES = 1000;
  const STATUS_EVERY_MS = 5000; // how often the service's state is read again

  const state = { models: [], hash: {}, charts: [], generation: 0 };

  /* DOM and formatting */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
    }
    return fill(node, ...children);
  }

  /* Replaces node's children; null and false are skipped, anything not a Node becomes text. */
  function fill(node, ...children) {
    const nodes = children.flat().filter((c) => c != null && c !== false);
    node.replaceChildren(...nodes.map((c) => (c instanceof Node ? c : String(c))));
    return node;
  }

  const isNum = (x) => typeof x === "number" && isFinite(x);
  const int = (x) => (isNum(x) ? Math.round(x).toLocaleString() : "–");
  const pct = (x) => (isNum(x) ? (x * 100).toFixed(Math.abs(x) < 0.1 ? 2 : 1) + "%" : "–");
  const dec = (x, digits) => (isNum(x) ? x.toFixed(digits == null ? 3 : digits) : "–");
  const sig = (x) => (isNum(x) ? String(Number(x.toPrecision(4))) : x == null ? "–" : String(x));
  const ms = (x) => (isNum(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(0)) + " ms" : "–");
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
  const seconds = (iso) => Date.parse(iso) / 1000;
  const short = (text, n) => (text.length > n ? text.slice(0, n - 1) + "…" : text);
  const enc = encodeURIComponent;

  /* The service */

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ headers: { Accept: "application/json" } }, options));
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (ignored) {
      body = null;
    }
    if (!response.ok) {
      const error = body && body.error;
      throw new Error(error ? error.message : `${response.status} ${response.statusText}`);
    }
    return body;
  }

  const modelPath = (name) => `v1/models/${enc(name)}`;

  /* Where we are: #model=forest&window=day&version=1&filter=all */

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const model = params.get("model");
    return {
      model: state.models.some((m) => m.name === model) ? model : (state.models[0] || {}).name,
      window: WINDOWS.includes(params.get("window")) ? params.get("window") : "day",
      version: /^\d+$/.test(params.get("version") || "") ? Number(params.get("version")) : null,
      filter: FILTERS.includes(params.get("filter")) ? params.get("filter") : "all",
    };
  }

  function go(change) {
    const next = Object.assign({}, state.hash, change);
    const params = new URLSearchParams();
    for (const key of ["model", "window", "version", "filter"]) {
      if (next[key] != null) params.set(key, next[key]);
    }
    location.hash = params.toString();
  }

  /* Model list */

  function renderModels() {
    const nav = document.getElementById("models");
    if (!state.models.length) {
      fill(nav, el("p", { className: "muted" }, "The store has no models."));
      return;
    }
    fill(nav,
      el("ul", {}, state.models.map((model) =>
        el("li", {},
          el("a", {
            href: "#model=" + enc(model.name),
            "aria-current": model.name === state.hash.model ? "page" : null,
            "data-model": model.name,
          },
          el("div", { className: "name" }, model.name),
          el("div", { className: "meta" }, "versions ", model.versions.join(", ")),
          el("div", {}, Object.entries(model.aliases).map(([alias, v]) =>
            el("span", { className: "chip" }, `${alias} → v${v}`))))))));
  }

  /* One model */

  async function renderModel() {
    const generation = ++state.generation;
    destroyCharts();
    const main = document.getElementById("model");
    const model = state.models.find((m) => m.name === state.hash.model);
    if (!model) {
      fill(main, el("p", { className: "muted" }, "No model to show."));
      return;
    }
    const body = el("div", {}, el("p", { className: "muted" }, "Loading monitoring…"));
    fill(main, header(model), body);
    let report;
    try {
      report = await api(`${modelPath(model.name)}/monitoring?window=${state.hash.window}`);
    } catch (error) {
      if (generation === state.generation) fill(body, errorBox("Monitoring", error));
      return;
    }
    if (generation !== state.generation) return;
    const version = pickVersion(model, report);
    fill(main, header(model, report, version), body);
    const current = report.versions.find((v) => v.version === version);
    fill(body,
      report.versions.length > 1 ? versionTable(model, report, version) : null,
      current ? versionView(report, current) : el("p", { className: "muted" },
        `No traffic for version ${version} in this ${report.window}.`),
      reviewSection(model, current));
    if (current) drawCharts(report, current);
  }

  function pickVersion(model, report) {
    const seen = report.versions.map((v) => v.version);
    if (seen.includes(state.hash.version) || model.versions.includes(state.hash.version)) return state.hash.version;
    if (seen.includes(model.default_version)) return model.default_version;
    const busiest = report.versions.slice().sort((a, b) => b.volume.rows - a.volume.rows)[0];
    return busiest ? busiest.version : model.default_version;
  }

  function header(model, report, version) {
    const versions = Array.from(new Set([...model.versions, ...(report ? report.versions.map((v) => v.version) : [])]))
      .sort((a, b) => a - b);
    const aliasesOf = (v) => Object.keys(model.aliases).filter((a) => model.aliases[a] === v);
    return el("div", { className: "head" },
      el("div", {},
        el("h2", {}, model.name),
        el("div", { className: "muted" }, [model.description, model.algorithm].filter(Boolean).join(" · ")),
        report ? el("div", { className: "muted small" }, `${when(report.from)} – ${when(report.to)}`) : null),
      el("div", { className: "controls" },
        el("div", { className: "segmented", role: "group", "aria-label": "Window" }, WINDOWS.map((w) =>
          el("button", { type: "button", "aria-pressed": String(w === state.hash.window), onclick: () => go({ window: w }) },
            w === "hour" ? "Last hour" : w === "day" ? "Last day" : "Last week"))),
        el("label", {}, "Version ",
          el("select", { id: "version", onchange: (e) => go({ version: Number(e.target.value) }) }, versions.map((v) =>
            el("option", { value: v, selected: v === version },
              `v${v}` + (aliasesOf(v).length ? ` (${aliasesOf(v).join(", ")})` : ""))))),
        el("button", { type: "button", onclick: refresh }, "Refresh")));
  }

  function versionTable(model, report, selected) {
    const rows = report.versions.map((v) =>
      el("tr", {},
        el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); go({ version: v.version }); } },
          `v${v.version}`), v.version === selected ? " (shown)" : ""),
        el("td", { className: "num" }, int(v.volume.rows)),
        el("td", { className: "num" }, pct(v.volume.error_rate)),
        el("td", { className: "num" }, ms(v.latency_ms.p95)),
        el("td", { className: "num" }, dec(v.predictions.psi)),
        el("td", { className: "num" }, v.alerts.length)));
    return el("section", {},
      el("h3", {}, "Versions in this window"),
      el("div", { className: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["Version", "Rows", "Error rate", "Latency p95", "Prediction PSI", "Alerts"].map((h, i) =>
          el("th", { className: i ? "num" : null }, h)))),
        el("tbody", {}, rows))));
  }

  function versionView(report, v) {
    return el("section", {},
      alertList(v),
      tiles(report, v),
      el("div", { className: "charts" }, chartFigures(report, v)),
      inputTable(report, v));
  }

  function alertList(v) {
    if (!v.alerts.length) {
      return el("ul", { className: "alerts" }, el("li", { className: "ok" }, "No alerts in this window."));
    }
    return el("ul", { className: "alerts", role: "alert" }, v.alerts.map((a) =>
      el("li", { className: "alert", "data-metric": a.metric }, a.message)));
  }

  function tiles(report, v) {
    const t = report.thresholds;
    const fb = v.feedback || {};
    const quality = v.kind === "classification"
      ? ["Feedback accuracy", pct(fb.accuracy)]
      : ["Feedback MAE", sig(fb.mae)];
    const tile = (label, value, note, bad) =>
      el("div", { className: bad ? "tile bad" : "tile" },
        el("div", { className: "label" }, label), el("div", { className: "value" }, value),
        note ? el("div", { className: "label" }, note) : null);
    return el("div", { className: "tiles" },
      tile("Requests", int(v.volume.requests)),
      tile("Rows", int(v.volume.rows)),
      tile("Failed rows", int(v.volume.failed_rows), pct(v.volume.error_rate), v.volume.error_rate > t.error_rate),
      tile("Latency p95", ms(v.latency_ms.p95), `p50 ${ms(v.latency_ms.p50)} · p99 ${ms(v.latency_ms.p99)}`,
        v.latency_ms.p95 > t.latency_p95_ms),
      tile("Prediction PSI", dec(v.predictions.psi),
        v.predictions.psi == null ? `needs ${t.min_rows} rows` : `threshold ${t.psi}`, v.predictions.psi > t.psi),
      tile(quality[0], quality[1], `${int(fb.count || 0)} feedback`));
  }

  function inputTable(report, v) {
    if (!v.inputs.length) return null;
    const detail = (f) => {
      if (f.shares) {
        const top = Object.entries(f.shares.observed || {}).sort((a, b) => b[1] - a[1]).slice(0, 3);
        return top.map(([k, s]) => `${short(k, 24)} ${pct(s)} (baseline ${pct((f.shares.baseline || {})[k] || 0)})`).join(" · ");
      }
      const q = f.quantiles || {};
      return `median ${sig((q.observed || {})["0.5"])} (baseline ${sig((q.baseline || {})["0.5"])})`;
    };
    return el("section", {},
      el("h3", {}, "Input fields"),
      el("div", { className: "table-wrap" }, el("table", { "data-table": "inputs" },
        el("thead", {}, el("tr", {}, ["Field", "Type", "Rows", "Missing (baseline)", "PSI", "Observed vs baseline"].map((h) =>
          el("th", { className: h === "Rows" || h === "PSI" ? "num" : null }, h)))),
        el("tbody", {}, v.inputs.map((f) =>
          el("tr", { className: f.psi > report.thresholds.input_psi ? "over" : null },
            el("td", {}, f.field), el("td", {}, f.op_type), el("td", { className: "num" }, int(f.rows)),
            el("td", {}, `${pct((f.missing_rate || {}).observed)} (${pct((f.missing_rate || {}).baseline)})`),
            el("td", { className: "num psi" }, dec(f.psi)),
            el("td", { className: "small" }, detail(f))))))));
  }

  /* Charts */

  const CHARTS = {
    classification: [
      ["class-shares", "Predicted class shares over time", "dashed: training baseline"],
      ["window-shares", "Predicted class shares in the window", "grey: training baseline"],
    ],
    regression: [
      ["mean", "Mean prediction over time", "dashed: training median"],
      ["histogram", "Prediction distribution", "grey: training baseline"],
    ],
    common: [
      ["input-psi", "Input drift (PSI) per field", "red dashes: threshold"],
      ["prediction-psi", "Prediction drift (PSI) over time", "red dashes: threshold"],
      ["volume", "Volume", "bars: rows · line: requests"],
      ["errors", "Errors", "bars: failed rows · line: error rate"],
      ["latency", "Latency p95 (ms)", "red dashes: threshold"],
    ],
  };

  function chartFigures(report, v) {
    return [...CHARTS[v.kind], ...CHARTS.common].map(([key, title, hint]) =>
      el("figure", { className: "chart", "data-chart": key },
        el("figcaption", {}, title, el("span", { className: "muted" }, hint)),
        el("div", { className: "plot" })));
  }

  function drawCharts(report, v) {
    const t = report.thresholds;
    const xs = v.series.map((b) => (seconds(b.start) + seconds(b.end)) / 2);
    const range = [seconds(report.from), seconds(report.to)];
    const draw = {
      "class-shares": () => classShares(v, xs, range),
      "window-shares": () => categoryBars(v.predictions.classes, v.predictions.baseline, v.predictions.observed, pct),
      mean: () => meanChart(v, xs, range),
      histogram: () => histogram(v.predictions.histogram),
      "input-psi": () => inputPsi(v.inputs, t.input_psi),
      "prediction-psi": () => timeChart(xs, range, [{ label: "PSI", stroke: BAR, values: v.series.map((b) => b.psi), fmt: dec }],
        { threshold: t.psi, floor: t.psi * 1.25 }),
      volume: () => volume(v, xs, range),
      errors: () => errors(v, xs, range, t.error_rate),
      latency: () => timeChart(xs, range, [{ label: "p95", stroke: BAR, values: v.series.map((b) => b.latency_p95_ms), fmt: ms }],
        { threshold: t.latency_p95_ms, floor: t.latency_p95_ms * 1.25, fmt: ms }),
    };
    for (const figure of document.querySelectorAll("figure[data-chart]")) {
      const spec = draw[figure.dataset.chart]();
      const target = figure.querySelector(".plot");
      if (spec === null) {
        target.append(el("div", { className: "empty" }, "Nothing to draw yet."));
        continue;
      }
      const [opts, data] = spec;
      opts.width = Math.max(240, target.clientWidth);
      opts.height = HEIGHT;
      state.charts.push(new uPlot(opts, data, target));
    }
  }

  function destroyCharts() {
    state.charts.forEach((c) => c.destroy());
    state.charts = [];
  }

  function referenceLine(value, scale) {
    return {
      hooks: {
        draw: [(u) => {
          if (!isNum(value)) return;
          const y = Math.round(u.valToPos(value, scale, true)) + 0.5;
          const ctx = u.ctx;
          ctx.save();
          ctx.globalAlpha = 0.7; // reference lines are translucent, data is opaque
          ctx.strokeStyle = BAD;
          ctx.lineWidth = uPlot.pxRatio * 1.5;
          ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.restore();
        }],
      },
    };
  }

  const fromZero = (floor) => (u, min, max) => [0, Math.max(isNum(max) ? max * 1.1 : 0, floor || 0) || 1];
  const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7];
  const pctAxis = (x) => Number((x * 100).toPrecision(3)) + "%";

  /* A value axis labelled briefly in the unit of fmt (whole numbers for counts). */
  function yAxis(fmt, extra) {
    const label = fmt === pct ? pctAxis : fmt === int ? int : sig;
    return Object.assign({}, AXIS, { size: 60, values: (u, splits) => splits.map((s) => (s == null ? "" : label(s))) },
      fmt === int ? { incrs: INT_INCRS } : {}, extra);
  }
  const timeOpts = (range) => ({ cursor: { sync: { key: "time" } }, scales: { x: { time: true, range: () => range } } });

  /* lines: [{label, stroke, values, fmt, dash, width}] over time; opts: threshold, floor, fmt */
  function timeChart(xs, range, lines, opts) {
    const o = opts || {};
    const fmt = o.fmt || lines[0].fmt || sig;
    return [Object.assign(timeOpts(range), {
      scales: Object.assign(timeOpts(range).scales, { y: { range: fromZero(o.floor) } }),
      axes: [AXIS, yAxis(fmt)],
      series: [{}, ...lines.map((l) => ({
        label: l.label, stroke: l.stroke, width: l.width || 2, dash: l.dash, spanGaps: false,
        value: (u, x) => (l.fmt || fmt)(x), points: l.dash ? { show: false } : { size: 7, fill: l.stroke },
      }))],
      plugins: o.threshold != null ? [referenceLine(o.threshold, "y")] : [],
    }), [xs, ...lines.map((l) => l.values)]];
  }

  function classShares(v, xs, range) {
    const p = v.predictions;
    const lines = [];
    p.classes.forEach((c, i) => {
      const color = COLORS[i % COLORS.length];
      lines.push({ label: String(c), stroke: color, fmt: pct, values: v.series.map((b) =>
        b.class_shares && Object.keys(b.class_shares).length ? b.class_shares[c] || 0 : null) });
      lines.push({ label: `baseline ${c}`, stroke: color + "99", fmt: pct, width: 1.5, dash: [6, 4],
        values: xs.map(() => (p.baseline || {})[c] ?? null) });
    });
    const [opts, data] = timeChart(xs, range, lines, { fmt: pct });
    opts.scales.y = { range: [0, 1] };
    return [opts, data];
  }

  function meanChart(v, xs, range) {
    const median = (v.predictions.baseline_quantiles || {})["0.5"];
    return timeChart(xs, range, [
      { label: "mean", stroke: BAR, values: v.series.map((b) => b.mean ?? null) },
      { label: "training median", stroke: BASE + "99", width: 1.5, dash: [6, 4], values: xs.map(() => median ?? null) },
    ], { fmt: sig });
  }

  /* Grouped bars over categories: baseline (grey) and observed (blue) shares. */
  function categoryBars(labels, baseline, observed, fmt, axisLabels) {
    if (!labels || !labels.length) return null;
    const index = labels.map((_, i) => i);
    const names = axisLabels || labels.map((l) => short(String(l), 14));
    const at = (shares, i) => (Array.isArray(shares) ? shares[i] : (shares || {})[labels[i]]) ?? null;
    return [{
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: fromZero() } },
      axes: [Object.assign({}, AXIS, { grid: { show: false }, splits: () => index, values: (u, s) => s.map((i) => names[i] ?? ""),
        rotate: names.length > 8 ? -40 : 0, size: names.length > 8 ? 70 : 40 }),
      yAxis(fmt)],
      series: [{ label: "bin", value: (u, i) => (i == null ? "–" : names[i]) },
        { label: "baseline", fill: BASE, stroke: BASE, width: 0, value: (u, x) => fmt(x),
          paths: uPlot.paths.bars({ size: [0.35, 48], align: -1 }), points: { show: false } },
        { label: "observed", fill: BAR, stroke: BAR, width: 0, value: (u, x) => fmt(x),
          paths: uPlot.paths.bars({ size: [0.35, 48], align: 1 }), points: { show: false } }],
    }, [index, index.map((i) => at(baseline, i)), index.map((i) => at(observed, i))]];
  }

  function histogram(h) {
    if (!h || !h.edges || h.edges.length < 2) return null;
    const labels = h.edges.slice(0, -1).map((e, i) => `${sig(e)}–${sig(h.edges[i + 1])}`);
    return categoryBars(labels, h.baseline, h.observed, pct, h.edges.slice(0, -1).map(sig));
  }

  function inputPsi(inputs, threshold) {
    if (!inputs.length) return null;
    const names = inputs.map((f) => String(f.field));
    const values = inputs.map((f) => f.psi);
    const colors = values.map((x) => (x > threshold ? BAD : BAR));
    const index = names.map((_, i) => i);
    return [{
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: fromZero(threshold * 1.25) } },
      axes: [Object.assign({}, AXIS, { grid: { show: false }, splits: () => index,
        values: (u, s) => s.map((i) => short(names[i] ?? "", 14)),
        rotate: names.length > 8 ? -40 : 0, size: names.length > 8 ? 80 : 40 }),
      yAxis(dec)],
      series: [{ label: "field", value: (u, i) => (i == null ? "–" : names[i]) },
        { label: "PSI", fill: BAR, stroke: BAR, width: 0, value: (u, x) => dec(x), points: { show: false },
          paths: uPlot.paths.bars({ size: [0.6, 64], disp: { fill: { unit: 3, values: () => colors } } }) }],
      plugins: [referenceLine(threshold, "y")],
    }, [index, values]];
  }

  function volume(v, xs, range) {
    return [Object.assign(timeOpts(range), {
      scales: Object.assign(timeOpts(range).scales, { rows: { range: fromZero(1) }, requests: { range: fromZero(1) } }),
      axes: [AXIS, yAxis(int, { scale: "rows" }), yAxis(int, { scale: "requests", side: 1, size: 50, grid: { show: false } })],
      series: [{},
        { label: "rows", scale: "rows", fill: BAR, stroke: BAR, width: 0, value: (u, x) => int(x),
          paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } },
        { label: "requests", scale: "requests", stroke: COLORS[1], width: 2, points: { size: 7, fill: COLORS[1] }, value: (u, x) => int(x) }],
    }), [xs, v.series.map((b) => b.rows), v.series.map((b) => b.requests)]];
  }

  function errors(v, xs, range, threshold) {
    const rate = v.series.map((b) => (b.rows ? b.failed_rows / b.rows : null));
    return [Object.assign(timeOpts(range), {
      scales: Object.assign(timeOpts(range).scales, { rows: { range: fromZero(1) }, rate: { range: fromZero(threshold * 1.25) } }),
      axes: [AXIS, yAxis(int, { scale: "rows" }), yAxis(pct, { scale: "rate", side: 1, size: 56, grid: { show: false } })],
      series: [{},
        { label: "failed rows", scale: "rows", fill: BAD, stroke: BAD, width: 0, value: (u, x) => int(x),
          paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } },
        { label: "error rate", scale: "rate", stroke: COLORS[1], width: 2, points: { size: 7, fill: COLORS[1] }, value: (u, x) => pct(x) }],
      plugins: [referenceLine(threshold, "rate")],
    }), [xs, v.series.map((b) => b.failed_rows), rate]];
  }

  function resizeCharts() {
    for (const chart of state.charts) {
      const width = Math.max(240, chart.root.parentElement.clientWidth);
      if (Math.abs(width - chart.width) > 2) chart.setSize({ width, height: HEIGHT });
    }
  }

  /* Review list */

  function reviewSection(model, v) {
    const list = el("div", { id: "cases" }, el("p", { className: "muted" }, "Loading cases…"));
    const section = el("section", { className: "review" },
      el("h3", {}, "Recent cases to review"),
      el("div", { className: "bar" },
        el("label", {}, "Show ",
          el("select", { id: "filter", onchange: (e) => go({ filter: e.target.value }) }, FILTERS.map((f) =>
            el("option", { value: f, selected: f === state.hash.filter }, f.replace("_", " "))))),
        el("span", { className: "muted small" }, "Mark a prediction right or wrong; the verdict is sent as feedback.")),
      list);
    loadCases(model, v, list, state.generation);
    return section;
  }

  async function loadCases(model, v, list, generation, limit) {
    const version = v ? v.version : state.hash.version;
    const query = `window=${state.hash.window}&limit=${limit || PAGE}&filter=${state.hash.filter}` +
      (version != null ? `&version=${version}` : "");
    let answer;
    try {
      answer = await api(`${modelPath(model.name)}/cases?${query}`);
    } catch (error) {
      if (generation === state.generation) fill(list, errorBox("Cases", error));
      return;
    }
    if (generation !== state.generation) return;
    if (!answer.cases.length) {
      fill(list, el("p", { className: "muted" }, "No cases in this window."));
      return;
    }
    const classes = v && v.kind === "classification" ? v.predictions.classes : null;
    fill(list, el("div", { className: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Time", "Version", "Prediction", "Confidence", "Inputs", "Review"].map((h) =>
        el("th", { className: h === "Confidence" ? "num" : null }, h)))),
      el("tbody", {}, answer.cases.map((c) => caseRow(model, c, classes))))),
    answer.cases.length === (limit || PAGE) && limit !== MAX_CASES ? el("p", {}, el("button", { type: "button",
      onclick: () => loadCases(model, v, list, generation, Math.min(MAX_CASES, (limit || PAGE) + PAGE)) }, "Show more")) : null);
  }

  function caseRow(model, c, classes) {
    const review = el("td", { className: "actions" });
    const row = el("tr", { "data-request-id": c.request_id, "data-row": c.row },
      el("td", { className: "small" }, when(c.time)),
      el("td", {}, `v${c.version}`),
      el("td", {}, c.error ? el("span", { className: "verdict failed" }, `failed: ${c.error}`)
        : el("strong", {}, typeof c.prediction === "number" ? sig(c.prediction) : String(c.prediction))),
      el("td", { className: "num" }, pct(c.confidence)),
      el("td", { className: "inputs" }, inputsCell(c.inputs)),
      review);
    if (!c.error) showReview(review, model, c, classes);
    return row;
  }

  function inputsCell(inputs) {
    if (!inputs) return el("span", { className: "muted" }, "not sampled");
    const pairs = Object.entries(inputs).map(([k, x]) => `${k}: ${typeof x === "number" ? sig(x) : x == null ? "missing" : x}`);
    if (pairs.length <= 4) return pairs.join(" · ");
    return el("details", {}, el("summary", {}, pairs.slice(0, 3).join(" · ") + " …"), pairs.slice(3).join(" · "));
  }

  function verdictText(fb) {
    if (!fb) return null;
    const outcome = fb.outcome != null ? ` (true: ${fb.outcome})` : "";
    if (fb.correct === true) return ["right", "✓ marked right"];
    if (fb.correct === false) return ["wrong", "✗ marked wrong" + outcome];
    if (fb.flag) return ["wrong", `flagged: ${fb.flag}` + (fb.reason ? ` (${fb.reason})` : "")];
    if (fb.outcome != null) return ["", `outcome: ${fb.outcome}`];
    return null;
  }

  function showReview(cell, model, c, classes) {
    const verdict = verdictText(c.feedback);
    fill(cell,
      verdict ? el("div", { className: `verdict ${verdict[0]}` }, verdict[1]) : null,
      el("button", { type: "button", className: "right", onclick: () => send(cell, model, c, classes, { correct: true }) }, "Right"),
      el("button", { type: "button", className: "wrong", onclick: () => askOutcome(cell, model, c, classes) }, "Wrong"));
  }

  function askOutcome(cell, model, c, classes) {
    const picker = classes
      ? el("select", { "aria-label": "True class", className: "outcome" },
        el("option", { value: "" }, "true class: don't know"),
        classes.filter((k) => String(k) !== String(c.prediction)).map((k) => el("option", { value: k }, String(k))))
      : el("input", { type: "number", step: "any", placeholder: "true value (optional)", "aria-label": "True value", className: "outcome" });
    const submit = () => {
      const feedback = { correct: false };
      if (picker.value !== "") feedback.outcome = classes ? picker.value : Number(picker.value);
      send(cell, model, c, classes, feedback);
    };
    fill(cell, picker,
      el("button", { type: "button", className: "wrong send", onclick: submit }, "Send"),
      el("button", { type: "button", onclick: () => showReview(cell, model, c, classes) }, "Cancel"));
    picker.focus();
  }

  async function send(cell, model, c, classes, verdict) {
    cell.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      await api(`${modelPath(model.name)}/feedback`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(Object.assign({ request_id: c.request_id, row: c.row }, verdict)),
      });
    } catch (error) {
      showReview(cell, model, c, classes);
      cell.prepend(el("div", { className: "verdict failed", role: "status" }, `Not sent: ${error.message}`));
      return;
    }
    c.feedback = Object.assign({ outcome: null, flag: null, reason: null, time: new Date().toISOString() }, verdict);
    showReview(cell, model, c, classes);
  }

  function errorBox(what, error) {
    return el("p", { className: "error", role: "alert" }, `${what} could not be loaded: ${error.message}`);
  }

  /* The service's state (/readyz): a prediction log whose writes fail, a model version that
   * failed to load. /readyz answers 503 while a model is not ready, with the same body. */

  async function renderStatus() {
    let ready;
    try {
      const response = await fetch("readyz", { headers: { Accept: "application/json" } });
      ready = await response.json();
    } catch (error) {
      fill(document.getElementById("status"), errorBox("The service's state", error));
      return;
    }
    const log = ready.prediction_log || {};
    const notices = [];
    if (log.state === "failing") {
      notices.push(el("p", { className: "error", "data-notice": "log" },
        `The prediction log cannot write: ${log.last_error}. Scoring goes on; `,
        `${int(log.queued)} ${log.queued === 1 ? "request waits" : "requests wait"}, `,
        `${int(log.dropped_rows)} ${log.dropped_rows === 1 ? "row" : "rows"} dropped so far. `,
        "The charts show what was written before."));
    }
    for (const [name, reasons] of Object.entries(ready.failures || {})) {
      notices.push(el("p", { className: "error", "data-notice": "model" },
        `Model ${name} is not ready (${reasons.replace(/\.$/, "")}).`));
    }
    fill(document.getElementById("status"), notices);
  }

  /* Start */

  async function refresh() {
    renderStatus();
    try {
      state.models = (await api("v1/models")).models;
    } catch (error) {
      fill(document.getElementById("models"), errorBox("The models", error));
      return;
    }
    route();
  }

  function route() {
    state.hash = readHash();
    renderModels();
    renderModel();
  }

  window.addEventListener("hashchange", route);
  setInterval(renderStatus, STATUS_EVERY_MS);
  window.addEventListener("resize", resizeCharts);
  refresh();
})();
