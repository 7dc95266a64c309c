// The node's dashboard: plain JS against the node's own HTTP API (no build step). The token is kept in
// sessionStorage only; every request sends it as a bearer token. Jobs are polled twice a second (QEMU's events carry
// no progress), and the event stream is read with fetch (EventSource cannot send an Authorization header).
"use strict";

const state = { token: sessionStorage.getItem("orchestrator-token"), events: null, timer: null };
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${state.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) { signOut("the token was refused"); throw new Error("unauthorized"); }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(json?.error?.message ?? `${method} ${path}: HTTP ${response.status}`);
  return json;
}

const bytes = (n) => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
};

function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }

function button(label, action) {
  const b = document.createElement("button");
  b.textContent = label;
  b.dataset.action = label;
  b.onclick = async () => {
    try { await action(); $("error").textContent = ""; await refresh(); } catch (e) { $("error").textContent = e.message; }
  };
  return b;
}

function renderJobs(jobs) {
  const body = $("jobs").tBodies[0];
  body.replaceChildren();
  $("no-jobs").hidden = jobs.length > 0;
  for (const job of jobs) {
    const row = body.insertRow();
    row.dataset.job = job.device;
    row.dataset.status = job.status;
    cell(row, job.device);
    cell(row, job.disk);
    cell(row, job.type);
    cell(row, job.paused && job.status !== "paused" ? `${job.status} (pausing)` : job.status);
    const progress = document.createElement("progress");
    progress.max = Math.max(job.len, 1);
    progress.value = job.offset;
    const td = cell(row, "");
    td.append(progress, ` ${job.len ? Math.floor((100 * job.offset) / job.len) : 0}% of ${bytes(job.len)}`);
    cell(row, job.speed ? `${bytes(job.speed)}/s` : "none");
    const actions = row.insertCell();
    const id = encodeURIComponent(job.device);
    actions.append(
      button("pause", () => api("POST", `/jobs/${id}/pause`)),
      button("resume", () => api("POST", `/jobs/${id}/resume`)),
      button("cancel", () => api("POST", `/jobs/${id}/cancel`)),
      button("set speed", () => {
        const text = prompt("Speed limit in bytes per second (0 = none)", String(job.speed));
        return text === null ? Promise.resolve() : api("POST", `/jobs/${id}/set-speed`, { speed: Number(text) });
      }),
    );
    if (job.status === "concluded") actions.append(button("dismiss", () => api("POST", `/jobs/${id}/dismiss`)));
  }
}

async function renderDisks(list) {
  const details = await Promise.all(list.map((d) => api("GET", `/disks/${encodeURIComponent(d.id)}`).catch(() => null)));
  const root = $("disks");
  root.replaceChildren();
  for (const disk of details.filter(Boolean)) {
    const div = document.createElement("div");
    div.className = "disk";
    div.dataset.disk = disk.id;
    const title = document.createElement("strong");
    title.textContent = disk.id;
    const chain = document.createElement("div");
    chain.className = "chain";
    chain.textContent = [...disk.chain].reverse().map((p) => `[${p.split("/").pop()}]`).join(" -> ");
    const nbd = document.createElement("div");
    nbd.className = "muted";
    nbd.textContent = disk.nbd?.unix ?? "";
    div.append(title, chain, nbd);
    root.append(div);
  }
  if (!details.length) root.textContent = "No disks registered.";
}

async function refresh() {
  const [jobs, disks] = await Promise.all([api("GET", "/jobs"), api("GET", "/disks")]);
  renderJobs(jobs);
  await renderDisks(disks);
  $("status").textContent = `signed in · ${disks.length} disk(s), ${jobs.length} job(s)`;
}

async function followEvents() {
  state.events = new AbortController();
  try {
    const response = await fetch("/events", { headers: { Authorization: `Bearer ${state.token}` }, signal: state.events.signal });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
        if (!data) continue;
        const event = JSON.parse(data);
        const li = document.createElement("li");
        li.textContent = `${event.event} ${JSON.stringify(event.data)}`;
        $("events").prepend(li);
        refresh().catch(() => {});
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") setTimeout(followEvents, 2000);
  }
}

function signIn(token) {
  state.token = token;
  sessionStorage.setItem("orchestrator-token", token);
  return refresh().then(() => {
    $("signin").hidden = true;
    $("main").hidden = false;
    $("signout").hidden = false;
    $("signin-error").textContent = "";
    state.timer = setInterval(() => refresh().catch((e) => { $("error").textContent = e.message; }), 500);
    followEvents();
  });
}

function signOut(reason) {
  sessionStorage.removeItem("orchestrator-token");
  state.token = null;
  clearInterval(state.timer);
  state.events?.abort();
  $("signin").hidden = false;
  $("main").hidden = true;
  $("signout").hidden = true;
  $("status").textContent = "signed out";
  $("signin-error").textContent = reason ?? "";
}

$("signin-form").onsubmit = (e) => {
  e.preventDefault();
  signIn($("token").value.trim()).catch((err) => { $("signin-error").textContent = err.message; });
};
$("signout").onclick = () => signOut();
if (state.token) signIn(state.token).catch(() => signOut());
