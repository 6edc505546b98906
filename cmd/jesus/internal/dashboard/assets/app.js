// The dashboard page: reads /api/state once a second and renders it. No libraries.
"use strict";

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function dur(ns) {
  if (!ns) return "–";
  if (ns < 1e3) return ns + " ns";
  if (ns < 1e6) return (ns / 1e3).toFixed(1) + " µs";
  if (ns < 1e9) return (ns / 1e6).toFixed(1) + " ms";
  return (ns / 1e9).toFixed(2) + " s";
}

function rate(r) { return r ? r.toFixed(1) : "0.0"; }

function since(t) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  return Math.round(s / 3600) + "h";
}

function schema(label, raw) {
  if (!raw) return "";
  return el("details", {}, el("summary", {}, label), el("pre", {}, JSON.stringify(raw, null, 2)));
}

function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
}

function render(st) {
  let insts = 0, rps = 0, eps = 0;
  fill("services", st.services.map(s => {
    const r = s.methods.reduce((a, m) => a + m.rate, 0), e = s.methods.reduce((a, m) => a + m.errorRate, 0);
    insts += s.instances.length; rps += r; eps += e;
    return el("tr", {"data-service": s.name},
      el("td", {}, el("b", {}, s.name)), el("td", {}, s.versions.join(" ")),
      el("td", {class: "num"}, s.instances.length),
      el("td", {class: "num rate"}, rate(r)), el("td", {class: "num"}, rate(e)));
  }));
  fill("methods", st.services.flatMap(s => s.methods.map(m =>
    el("tr", {"data-method": m.name},
      el("td", {}, el("span", {class: "mono"}, m.name), schema("request", m.request), schema("response", m.response)),
      el("td", {}, m.mode || ""), el("td", {}, m.channel || ""),
      el("td", {class: "num requests"}, m.requests), el("td", {class: "num rate"}, rate(m.rate)),
      el("td", {class: "num"}, m.errors), el("td", {class: "num"}, rate(m.errorRate)),
      el("td", {class: "num"}, dur(m.avg_ns)), el("td", {class: "num"}, dur(m.p99_ns)),
      el("td", {class: "err"}, m.lastError || "")))));
  fill("instances", st.services.flatMap(s => s.instances.map(i =>
    el("tr", {"data-instance": i.id},
      el("td", {}, s.name), el("td", {class: "mono"}, i.id.slice(0, 8)), el("td", {}, i.version),
      el("td", {}, since(i.started)),
      el("td", {class: "mono"}, Object.entries(i.endpoints || {}).sort().map(([n, e]) => n + "=" + e).join("  ")),
      el("td", {}, i.answered ? el("span", {class: "badge ok"}, "answering")
                              : el("span", {class: "badge down", title: i.error || ""}, "silent"))))));
  const v = document.getElementById("verdict");
  v.textContent = st.compat.verdict || "";
  v.className = "verdict " + (st.compat.verdict || "");
  fill("compat", st.compat.pairs.map(p =>
    el("tr", {},
      el("td", {}, p.from), el("td", {}, p.to),
      el("td", {}, el("span", {class: "badge " + p.verdict, title: (p.problems || []).join("\n")}, p.verdict)))));
  document.getElementById("events").replaceChildren(...st.events.slice(0, 40).map(e =>
    el("li", {}, el("span", {class: "kind"}, new Date(e.at).toLocaleTimeString() + " " + e.kind), e.text)));
  document.getElementById("summary").textContent =
    st.services.length + " services · " + insts + " instances · " + rate(rps) + " req/s · " + rate(eps) + " err/s";
  document.getElementById("updated").textContent = "updated " + new Date(st.at).toLocaleTimeString();
}

async function tick() {
  try {
    const res = await fetch("api/state", {cache: "no-store"});
    if (res.ok) render(await res.json());
    else document.getElementById("summary").textContent = "state: HTTP " + res.status;
  } catch (e) {
    document.getElementById("summary").textContent = "dashboard unreachable: " + e;
  }
  setTimeout(tick, 1000);
}
tick();
