// The Sluice console: a single page that reads the broker's JSON API
// (/api/v1) and draws the cluster, topics, one topic's partitions, consumer
// groups (with a lag sparkline from this page's own polls), a message
// browser, the ZooKeeper tree and live traffic charts per broker (rates
// from two polls of every broker's counters). Views are picked by the URL's
// hash (#/cluster, #/traffic, #/topics, #/topics/<name>, #/groups,
// #/groups/<id>, #/messages?topic=&partition=&offset=&format=,
// #/znodes?path=<path>). Write forms (create topic, configs, delete records,
// preferred election, reset offsets) are live only when the broker says
// writes are on. Numbers carry data-* attributes so tests can read them.
"use strict";

const view = document.getElementById("view");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    e.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? "–" : String(c)));
  }
  return e;
}

function table(headers, rows, attrs) {
  return el("table", attrs || {},
    el("thead", {}, el("tr", {}, headers.map(h => el("th", {}, h)))),
    el("tbody", {}, rows));
}

function num(value, attrs) {
  return el("td", Object.assign({ class: "num" }, attrs || {}), value);
}

function card(label, value, id, bad) {
  return el("div", { class: "card" }, el("div", {}, label),
    el("div", { class: "value" + (bad ? " bad" : ""), id: id }, value));
}

function bytes(n) {
  if (n === null || n === undefined || n < 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

async function api(path) {
  const response = await fetch("/api/v1/" + path, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// What /api/v1/console says: this broker's id and whether writes are on.
let consoleInfo = { broker: null, writes_enabled: false };

async function post(path, body) {
  const response = await fetch("/api/v1/" + path, {
    method: "POST", cache: "no-store",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  return { status: response.status, answer };
}

// A form for one write action: fields, a button, and where its answer shows.
// `toBody` turns the form's values into the JSON body; after success
// `then` runs (usually a re-render).
function actionForm(id, title, fields, path, toBody, then) {
  const result = el("p", { class: "action-result", id: id + "-result" });
  const form = el("form", { class: "browse action", id: id },
    el("strong", {}, title), fields, el("button", { type: "submit" }, title));
  if (!consoleInfo.writes_enabled) {
    for (const input of form.querySelectorAll("input, select, button")) input.disabled = true;
    result.textContent = "Write actions are off on this broker (console.writes.enable=false).";
  }
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    let r;
    try {
      r = await post(typeof path === "function" ? path(values) : path, toBody(values));
    } catch (err) {
      r = { status: 0, answer: { error: err.message } };
    }
    result.dataset.status = r.status;
    result.className = "action-result " + (r.status === 200 ? "ok" : "bad");
    result.textContent = r.status === 200 ? "Done: " + r.answer.outcomes.map(o => o.target).join(", ")
      : "Refused (" + r.status + "): " + r.answer.error;
    if (r.status === 200 && then) setTimeout(then, 500);
  });
  return el("div", {}, form, result);
}

function field(label, name, attrs) {
  return el("label", {}, label, el("input", Object.assign({ name }, attrs || {})));
}

function numberOrUndefined(text) {
  return text === "" || text === undefined ? undefined : Number(text);
}

// Re-renders of a polled view keep what was typed into its action forms
// (and their last answer) when the same view is shown again.
function keepForms(name, replace) {
  const kept = {};
  if (view.dataset.view === name) {
    for (const form of view.querySelectorAll("form.action")) {
      const result = document.getElementById(form.id + "-result");
      kept[form.id] = { values: [...form.elements].filter(e => e.name).map(e => [e.name, e.value]),
        result: result && result.dataset.status ? [result.className, result.textContent, result.dataset.status] : null };
    }
  }
  const focused = document.activeElement && document.activeElement.form ? [document.activeElement.form.id, document.activeElement.name] : null;
  replace();
  for (const [id, k] of Object.entries(kept)) {
    const form = document.getElementById(id);
    if (!form) continue;
    for (const [n, v] of k.values) if (form.elements[n] && !form.elements[n].disabled) form.elements[n].value = v;
    const result = document.getElementById(id + "-result");
    if (k.result && result) [result.className, result.textContent, result.dataset.status] = k.result;
  }
  if (focused) {
    const form = document.getElementById(focused[0]);
    if (form && form.elements[focused[1]]) form.elements[focused[1]].focus();
  }
}

function show(name, ...content) {
  keepForms(name, () => view.replaceChildren(...content));
  view.dataset.view = name;
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.id === "nav-" + name.split("-")[0]);
  }
  document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString();
}

async function clusterView() {
  const c = await api("cluster");
  const brokers = c.brokers.map(b => el("tr", { "data-broker": b.id },
    num(b.id), el("td", {}, b.host ? b.host + ":" + b.port : "–"), el("td", {}, b.rack),
    el("td", {}, b.endpoints.join(" ")),
    el("td", { class: b.live ? "ok" : "bad", "data-live": b.live }, b.live ? "live" : "down"),
    num(b.leader_partitions, { "data-leaders": b.leader_partitions }),
    num(b.replica_partitions, { "data-replicas": b.replica_partitions }),
    el("td", {}, b.log_dirs.length ? b.log_dirs.map(d =>
      el("div", { "data-log-dir": d.path }, d.path + ": " + bytes(d.size_bytes) + " used by logs, " +
        bytes(d.usable_bytes) + " free of " + bytes(d.total_bytes))) : (b.error || "–"))));
  show("cluster",
    el("div", { class: "cards" },
      card("Cluster id", c.cluster_id, "cluster-id"),
      card("Controller", c.controller ? c.controller.id : "none", "controller-id", !c.controller),
      card("Controller epoch", c.controller ? c.controller.epoch : "–", "controller-epoch"),
      card("Brokers live", c.brokers.filter(b => b.live).length + " / " + c.brokers.length, "brokers-live"),
      card("Topics", c.topics, "topic-count"),
      card("Partitions", c.partitions.total, "partition-count"),
      card("Under-replicated", c.partitions.under_replicated, "under-replicated", c.partitions.under_replicated > 0),
      card("Offline", c.partitions.offline, "offline", c.partitions.offline > 0)),
    el("h2", {}, "Brokers"),
    table(["id", "address", "rack", "endpoints", "state", "leaders", "replicas", "log dirs"], brokers,
      { id: "brokers" }),
    el("p", {}, "Answered by broker " + c.this_broker + "."));
}

// The previous poll of the topics' counters, for rates.
let topicsPrevious = { time: 0, topics: {} };

function rate(now, before, seconds) {
  return before === undefined || seconds <= 0 ? null : Math.max(0, (now - before) / seconds);
}

function perSecond(n, unit) {
  if (n === null) return "–";
  return unit === "B" ? bytes(n) + "/s" : (n < 10 ? n.toFixed(1) : Math.round(n)) + "/s";
}

async function topicsView() {
  const topics = await api("topics");
  const now = Date.now();
  const seconds = (now - topicsPrevious.time) / 1000;
  const before = topicsPrevious.topics;
  topicsPrevious = { time: now, topics: Object.fromEntries(topics.map(t => [t.name, t])) };
  const rows = topics.map(t => el("tr", { "data-topic": t.name },
    el("td", {}, el("a", { href: "#/topics/" + encodeURIComponent(t.name) }, t.name)),
    num(t.partitions, { "data-partitions": t.partitions }),
    num(t.replication_factor, { "data-rf": t.replication_factor }),
    num(t.under_replicated, { class: "num" + (t.under_replicated ? " bad" : "") }),
    num(t.offline, { class: "num" + (t.offline ? " bad" : "") }),
    num(bytes(t.size_bytes), { "data-size": t.size_bytes }),
    ...[["messages_in", ""], ["bytes_in", "B"], ["bytes_out", "B"]].map(([k, unit]) => {
      const r = rate(t[k], before[t.name] && before[t.name][k], seconds);
      return num(perSecond(r, unit), { ["data-" + k.replace("_", "-") + "-rate"]: r === null ? "" : r });
    })));
  const create = actionForm("create-topic", "Create topic", [
    field("name", "name", { required: "" }),
    field("partitions", "partitions", { type: "number", min: "1", placeholder: "broker default" }),
    field("replication factor", "replication_factor", { type: "number", min: "1", placeholder: "broker default" }),
  ], "topics", v => ({
    name: v.name, partitions: numberOrUndefined(v.partitions),
    replication_factor: numberOrUndefined(v.replication_factor),
  }), render);
  show("topics", el("h2", {}, topics.length + " topics"),
    table(["topic", "partitions", "replication factor", "under-replicated", "offline", "size",
      "messages in", "bytes in", "bytes out"], rows, { id: "topics" }),
    el("p", {}, "Rates from this page's polls (every 5 s), summed over the brokers."),
    create);
  pollTimer = setTimeout(render, 5000);
}

async function topicView(name) {
  const t = await api("topics/" + encodeURIComponent(name));
  const partitions = t.partitions.map(p => el("tr", { "data-partition": p.partition },
    el("td", { class: "num" }, el("a", { href: "#/messages?topic=" + encodeURIComponent(t.name) + "&partition=" + p.partition,
      title: "browse messages" }, p.partition)),
    num(p.leader, { "data-leader": p.leader }), num(p.leader_epoch),
    el("td", { "data-replicas": p.replicas.join(",") }, p.replicas.join(", ")),
    el("td", { "data-isr": p.isr.join(","), class: p.isr.length < p.replicas.length ? "bad" : "" }, p.isr.join(", ")),
    num(p.log_start_offset, { "data-log-start": p.log_start_offset }),
    num(p.high_watermark, { "data-high-watermark": p.high_watermark }),
    num(p.messages),
    el("td", {}, p.replica_states.map(r => el("div", {
      "data-replica": r.broker, "data-log-end": r.log_end_offset, "data-lag": r.lag,
    }, "broker " + r.broker + ": log end " + (r.log_end_offset ?? "–") + ", lag " + (r.lag ?? "–") +
       ", " + bytes(r.size_bytes) + (r.in_isr ? "" : " (not in ISR)"))))));
  const configs = t.configs.map(c => el("tr", { "data-config": c.name },
    el("td", {}, c.name), el("td", {}, c.value === null ? "(sensitive)" : c.value), el("td", {}, c.source)));
  show("topics-one",
    el("h2", {}, "Topic " + t.name), el("p", {}, "id " + t.topic_id),
    t.errors.length ? el("p", { class: "error" }, t.errors.join("; ")) : "",
    el("h2", {}, "Partitions"),
    table(["partition", "leader", "epoch", "replicas", "ISR", "log start", "high watermark", "messages", "replicas' log end and lag"],
      partitions, { id: "partitions" }),
    el("h2", {}, "Configs"),
    table(["name", "value", "source"], configs, { id: "configs" }),
    el("h2", {}, "Actions"),
    actionForm("alter-config", "Set config", [field("key", "key", { required: "" }), field("value (empty: delete)", "value")],
      "topics/" + encodeURIComponent(t.name) + "/configs",
      v => v.value === "" ? { delete: [v.key] } : { set: { [v.key]: v.value } }, render),
    actionForm("delete-records", "Delete records", [
      field("partition", "partition", { type: "number", min: "0", value: "0", required: "" }),
      field("before offset (empty: high watermark)", "offset", { type: "number", min: "0" })],
      "topics/" + encodeURIComponent(t.name) + "/delete-records",
      v => ({ partition: Number(v.partition), offset: numberOrUndefined(v.offset) }), render),
    actionForm("preferred-election", "Elect preferred leaders", [],
      "topics/" + encodeURIComponent(t.name) + "/preferred-election", () => ({}), render));
}

async function groupsView() {
  const groups = await api("groups");
  const rows = groups.map(g => el("tr", { "data-group": g.group_id },
    el("td", {}, el("a", { href: "#/groups/" + encodeURIComponent(g.group_id) }, g.group_id)),
    el("td", { "data-state": g.state }, g.state), num(g.members), num(g.coordinator), el("td", {}, g.protocol_type)));
  show("groups", el("h2", {}, groups.length + " consumer groups"),
    table(["group", "state", "members", "coordinator", "protocol type"], rows, { id: "groups" }));
}

// Total lag samples of the group on view, from this page's polls (bounded).
const lagHistory = { group: null, samples: [] };
const LAG_SAMPLES = 120;
let pollTimer = null;

function sparkline(samples) {
  const w = 360, h = 60;
  const max = Math.max(1, ...samples);
  const points = samples.map((v, i) =>
    (samples.length === 1 ? 0 : i * w / (samples.length - 1)).toFixed(1) + "," + (h - 4 - v * (h - 8) / max).toFixed(1));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("id", "lag-sparkline");
  svg.setAttribute("data-samples", samples.length);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.join(" "));
  svg.append(line);
  return svg;
}

async function groupView(id) {
  const g = await api("groups/" + encodeURIComponent(id));
  if (lagHistory.group !== id) { lagHistory.group = id; lagHistory.samples = []; }
  lagHistory.samples.push(g.total_lag);
  if (lagHistory.samples.length > LAG_SAMPLES) lagHistory.samples.shift();
  const members = g.members.map(m => el("tr", { "data-member": m.member_id },
    el("td", {}, m.member_id), el("td", {}, m.client_id), el("td", {}, m.client_host),
    el("td", {}, m.assignment.map(([t, ps]) => t + ": " + ps.join(",")).join("; "))));
  const offsets = g.offsets.map(o => el("tr", { "data-offset": o.topic + "-" + o.partition },
    el("td", {}, o.topic), num(o.partition), num(o.committed, { "data-committed": o.committed }),
    num(o.high_watermark, { "data-high-watermark": o.high_watermark }),
    num(o.lag, { "data-lag": o.lag, class: "num" + (o.lag > 0 ? " bad" : "") }), el("td", {}, o.owner)));
  show("groups-one",
    el("h2", {}, "Group " + g.group_id),
    el("div", { class: "cards" },
      card("State", g.state, "group-state"), card("Coordinator", g.coordinator, "group-coordinator"),
      card("Members", g.members.length, "group-members"), card("Total lag", g.total_lag, "group-lag", g.total_lag > 0)),
    el("h2", {}, "Lag over time (this page's polls, every 5 s)"), sparkline(lagHistory.samples),
    g.errors.length ? el("p", { class: "error" }, g.errors.join("; ")) : "",
    el("h2", {}, "Members"), table(["member", "client id", "host", "assignment"], members, { id: "members" }),
    el("h2", {}, "Offsets"),
    table(["topic", "partition", "committed", "high watermark", "lag", "owner"], offsets, { id: "offsets" }),
    el("h2", {}, "Actions"),
    actionForm("reset-offsets", "Reset offsets", [
      field("topic", "topic", { required: "" }),
      el("label", {}, "to", el("select", { name: "to" },
        el("option", { value: "earliest" }, "earliest"), el("option", { value: "latest" }, "latest"),
        el("option", { value: "offset" }, "offset"))),
      field("offset", "offset", { type: "number", min: "0" })],
      "groups/" + encodeURIComponent(g.group_id) + "/reset-offsets",
      v => ({ topic: v.topic, to: v.to === "offset" ? Number(v.offset) : v.to }), render));
  pollTimer = setTimeout(render, 5000);
}

async function messagesView(params) {
  const topic = params.get("topic") || "";
  const form = el("form", { class: "browse", id: "browse" },
    el("label", {}, "topic", el("input", { name: "topic", value: topic, required: "" })),
    el("label", {}, "partition", el("input", { name: "partition", type: "number", min: "0", value: params.get("partition") || "0" })),
    el("label", {}, "offset", el("input", { name: "offset", type: "number", min: "0", value: params.get("offset") || "" })),
    el("label", {}, "or timestamp (ms)", el("input", { name: "timestamp", type: "number", min: "0", value: params.get("timestamp") || "" })),
    el("label", {}, "count", el("input", { name: "count", type: "number", min: "1", max: "100", value: params.get("count") || "20" })),
    el("label", {}, "format", el("select", { name: "format" },
      ["text", "json", "hex"].map(f => {
        const o = el("option", { value: f }, f);
        if ((params.get("format") || "text") === f) o.setAttribute("selected", "");
        return o;
      }))),
    el("button", { type: "submit" }, "Read"));
  form.addEventListener("submit", e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v !== "") q.set(k, v);
    location.hash = "/messages?" + q.toString();
  });
  if (!topic) { show("messages", form); return; }
  const q = new URLSearchParams();
  for (const k of ["partition", "offset", "timestamp", "count", "format"]) if (params.get(k)) q.set(k, params.get(k));
  const m = await api("topics/" + encodeURIComponent(topic) + "/messages?" + q.toString());
  const rows = m.messages.map(r => el("tr", { "data-message-offset": r.offset },
    num(r.offset), num(r.timestamp), el("td", {}, el("pre", {}, r.key ?? "null")),
    el("td", { class: "message-value" }, el("pre", {}, r.value ?? "null")),
    el("td", {}, r.headers.map(([k, v]) => el("div", {}, k + ": " + (v ?? "null"))))));
  show("messages", form,
    el("p", { id: "messages-range" }, "partition " + m.partition + " (leader " + m.leader + "): log start " + m.log_start_offset +
      ", high watermark " + m.high_watermark + "; " + m.messages.length + " shown from offset " + (m.start_offset ?? "–")),
    table(["offset", "timestamp", "key", "value", "headers"], rows, { id: "messages" }));
}

async function znodeView(path) {
  const z = await api("znodes?path=" + encodeURIComponent(path));
  const parts = path === "/" ? [] : path.slice(1).split("/");
  const crumbs = [el("a", { href: "#/znodes?path=/" }, "/")];
  parts.forEach((p, i) => {
    const sub = "/" + parts.slice(0, i + 1).join("/");
    crumbs.push(el("a", { href: "#/znodes?path=" + encodeURIComponent(sub) }, p), " / ");
  });
  let data = z.data === null ? "(binary, base64) " + z.data_base64 : z.data;
  try { if (z.data) data = JSON.stringify(JSON.parse(z.data), null, 2); } catch (_) { /* not JSON */ }
  const stat = Object.entries(z.stat).map(([k, v]) => el("tr", {}, el("td", {}, k), num(v)));
  const children = z.children.map(c => {
    const sub = (path === "/" ? "" : path) + "/" + c;
    return el("li", {}, el("a", { href: "#/znodes?path=" + encodeURIComponent(sub) }, c));
  });
  show("znodes",
    el("h2", {}, crumbs),
    el("pre", { id: "znode-data", "data-path": z.path }, data || "(empty)"),
    el("h2", {}, "Stat"), table(["field", "value"], stat, { id: "znode-stat" }),
    el("h2", {}, z.stat.num_children + " children" + (z.children_truncated ? " (first " + z.children.length + ")" : "")),
    el("ul", { id: "znode-children" }, children));
}

// Every broker's counters from this page's polls (bounded), for rates.
const traffic = { samples: [] };
const TRAFFIC_SAMPLES = 90;
const SERIES_COLORS = ["#2f6fdb", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8590c", "#1098ad"];

// Rates per broker between consecutive polls: {id: [{t, bytes_in, ...}]}.
function trafficRates() {
  const rates = {};
  for (let i = 1; i < traffic.samples.length; i++) {
    for (const b of traffic.samples[i].brokers) {
      const prev = traffic.samples[i - 1].brokers.find(p => p.id === b.id);
      if (!b.stats || !prev || !prev.stats) continue;
      const seconds = (b.stats.time_ms - prev.stats.time_ms) / 1000;
      if (seconds <= 0) continue;
      const r = k => Math.max(0, (b.stats[k] - prev.stats[k]) / seconds);
      (rates[b.id] = rates[b.id] || []).push({
        t: b.stats.time_ms, bytes_in: r("bytes_in"), bytes_out: r("bytes_out"),
        replication_bytes_out: r("replication_bytes_out"), requests: r("requests"), messages_in: r("messages_in"),
      });
    }
  }
  return rates;
}

function chart(id, title, rates, key, unit) {
  const w = 420, h = 120, pad = 4;
  const ids = Object.keys(rates);
  const all = ids.flatMap(b => rates[b].map(p => p[key]));
  const max = Math.max(1, ...all);
  const times = ids.flatMap(b => rates[b].map(p => p.t));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("id", id);
  svg.setAttribute("data-points", all.length);
  ids.forEach((b, i) => {
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", rates[b].map(p =>
      ((t1 > t0 ? (p.t - t0) / (t1 - t0) : 0) * (w - 2 * pad) + pad).toFixed(1) + "," +
      (h - pad - p[key] * (h - 2 * pad) / max).toFixed(1)).join(" "));
    line.setAttribute("stroke", SERIES_COLORS[i % SERIES_COLORS.length]);
    line.setAttribute("data-broker", b);
    svg.append(line);
  });
  return el("div", { class: "chart-box" }, el("div", {}, title + " (max " + perSecond(max, unit) + ")"), svg);
}

async function trafficView() {
  const stats = await api("stats");
  traffic.samples.push(stats);
  if (traffic.samples.length > TRAFFIC_SAMPLES) traffic.samples.shift();
  const rates = trafficRates();
  const ids = Object.keys(rates);
  const rows = stats.brokers.map(b => {
    const last = rates[b.id] ? rates[b.id][rates[b.id].length - 1] : null;
    const cell = (k, unit) => num(last ? perSecond(last[k], unit) : "–", { ["data-" + k.replaceAll("_", "-")]: last ? last[k] : "" });
    const color = SERIES_COLORS[ids.indexOf(String(b.id)) % SERIES_COLORS.length];
    return el("tr", { "data-broker": b.id },
      el("td", {}, el("span", { class: "swatch", style: "background:" + color }), " " + b.id),
      cell("bytes_in", "B"), cell("bytes_out", "B"), cell("replication_bytes_out", "B"),
      cell("messages_in", ""), cell("requests", ""), el("td", { class: b.error ? "bad" : "" }, b.error || "ok"));
  });
  show("traffic",
    el("h2", {}, "Traffic per broker (polled every 2 s)"),
    table(["broker", "bytes in", "bytes out (consumers)", "replication out", "messages in", "requests", "counters"],
      rows, { id: "traffic" }),
    el("div", { class: "charts" },
      chart("chart-bytes-in", "Bytes in per second", rates, "bytes_in", "B"),
      chart("chart-bytes-out", "Bytes out per second (consumers)", rates, "bytes_out", "B"),
      chart("chart-requests", "Requests per second", rates, "requests", "")));
  pollTimer = setTimeout(render, 2000);
}

async function render() {
  clearTimeout(pollTimer);
  const raw = location.hash.slice(1) || "/cluster";
  const hash = decodeURIComponent(raw);
  const params = new URLSearchParams(raw.split("?")[1] || "");
  try {
    if (hash.startsWith("/topics/")) await topicView(hash.slice("/topics/".length));
    else if (hash === "/topics") await topicsView();
    else if (hash === "/traffic") await trafficView();
    else if (hash.startsWith("/groups/")) await groupView(decodeURIComponent(raw.slice("/groups/".length)));
    else if (hash === "/groups") await groupsView();
    else if (hash.startsWith("/messages")) await messagesView(params);
    else if (hash.startsWith("/znodes")) {
      const q = new URLSearchParams(location.hash.split("?")[1] || "");
      await znodeView(q.get("path") || "/");
    } else await clusterView();
  } catch (e) {
    show("error", el("p", { class: "error", id: "error" }, "Error: " + e.message));
  }
}

window.addEventListener("hashchange", render);
api("console").then(info => { consoleInfo = info; }).catch(() => {}).finally(render);
