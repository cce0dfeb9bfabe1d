// The supervisor's floor in admin: agents, live calls and today's figures, kept live by the
// organization's socket (every call and agent-state push re-reads the floor's state).
import { AGENT_LABELS, LABELS, getJSON, postJSON, syncClock, elapsedSeconds, formatDuration, cell, liveSocket } from "../agents/live.js";

const root = document.getElementById("floor");
const mayAct = root.dataset.mayAct === "1";
let state = null;

function clock(seconds) {
  return seconds === null || seconds === undefined ? "–" : formatDuration(Math.round(seconds));
}
function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)}%`;
}

function say(text) {
  const message = document.getElementById("floor-message");
  message.textContent = text;
  message.hidden = !text;
}

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function act(url, body, done) {
  const reply = await postJSON(url, body);
  say(reply.ok ? done : reply.data.message || `Refused (${reply.status})`);
  refresh();
}

function agentActions(agent) {
  const td = document.createElement("td");
  const optional = !state.pause_reason_required;
  if (agent.state !== "paused" && agent.state !== "offline" && agent.state !== "on_call" && (optional || state.pause_reasons.length)) {
    const select = document.createElement("select");
    select.setAttribute("aria-label", `Pause reason for ${agent.username}`);
    if (optional) select.append(new Option("No reason", ""));
    for (const reason of state.pause_reasons) select.append(new Option(reason.name, reason.id));
    td.append(select, button("Pause", () => act(root.dataset.pauseUrl.replace("/0/", `/${agent.id}/`),
      { pause_reason_id: select.value ? Number(select.value) : null }, `${agent.username} paused`)));
  }
  if (agent.state !== "offline" && agent.state !== "on_call") {
    td.append(button("Log out", () => act(root.dataset.logOutUrl.replace("/0/", `/${agent.id}/`), {}, `${agent.username} logged out`)));
  }
  return td;
}

function render() {
  if (!state) return;
  document.getElementById("today").textContent = `${state.today} (${state.time_zone})`;
  const t = state.totals;
  const shown = {
    placed: t.placed, answered: t.answered, answer_rate: percent(t.answer_rate),
    average_talk_seconds: clock(t.average_talk_seconds), average_handle_seconds: clock(t.average_handle_seconds),
    occupancy: percent(t.occupancy),
  };
  for (const dd of document.querySelectorAll("[data-figure]")) dd.textContent = shown[dd.dataset.figure];
  for (const dd of document.querySelectorAll("[data-agents]")) dd.textContent = state.agents_by_state[dd.dataset.agents];
  for (const a of document.querySelectorAll("[data-callbacks]")) a.textContent = state.callbacks[a.dataset.callbacks];

  document.getElementById("agents").replaceChildren(...state.agents.map((agent) => {
    const row = document.createElement("tr");
    row.dataset.agentId = agent.id;
    row.className = `state-${agent.state}`;
    row.dataset.state = agent.state;
    row.dataset.since = agent.since || "";
    const label = AGENT_LABELS[agent.state] || agent.state;
    const call = agent.call ? `${agent.call.to} · ${LABELS[agent.call.status] || agent.call.status}` : "–";
    const s = agent.state_seconds_today;
    const inState = cell(agent.since ? formatDuration(elapsedSeconds(agent.since)) : "–");
    inState.dataset.since = agent.since || "";
    const stateCell = cell(agent.pause_reason ? `${label} (${agent.pause_reason})` : label);
    const flag = document.createElement("span");
    flag.className = "long-flag";
    flag.textContent = " · long pause";
    flag.hidden = true;
    stateCell.append(flag);
    row.append(cell(agent.username), stateCell, inState,
      cell(call), cell(String(agent.calls_today)), cell(clock(agent.talk_seconds_today)), cell(clock(s.available)),
      cell(clock(s.on_call)), cell(clock(s.wrap_up)), cell(clock(s.paused)), cell(agent.console_open ? "open" : "closed"));
    if (mayAct) row.append(agentActions(agent));
    return row;
  }));

  flagLongPauses();

  document.getElementById("calls").replaceChildren(...state.calls.map((call) => {
    const row = document.createElement("tr");
    row.dataset.requestUuid = call.request_uuid;
    const duration = cell(formatDuration(elapsedSeconds(call.answered_at || call.started_at || call.created_at)));
    duration.dataset.since = call.answered_at || call.started_at || call.created_at;
    row.append(cell(call.agent_name || "API"), cell(call.from), cell(call.to), cell(LABELS[call.status] || call.status), duration);
    if (mayAct) {
      const td = document.createElement("td");
      td.append(button("Hang up", () => act(root.dataset.hangUpUrl.replace("REQUEST", call.request_uuid), {}, "Hung up")));
      row.append(td);
    }
    return row;
  }));

  document.getElementById("dispositions").replaceChildren(...(state.dispositions.length ? state.dispositions.map((row) => {
    const tr = document.createElement("tr");
    tr.append(cell(row.label), cell(String(row.calls)), cell(clock(row.talk_seconds)));
    return tr;
  }) : [(() => { const tr = document.createElement("tr"); tr.append(cell("None yet")); return tr; })()]));
  document.body.dataset.floorVersion = String(Number(document.body.dataset.floorVersion || 0) + 1);
}

let pending = null;
let lastRead = 0;
async function refresh() {
  const reply = await getJSON(root.dataset.stateUrl);
  if (!reply.ok) return;
  syncClock(reply.data.now);
  lastRead = Date.now();
  state = reply.data;
  render();
}
// Pushes come in bursts (a call's ring, answer and hang-up); one re-read serves a burst.
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh(); }, 250);
}

// A pause longer than the organization's limit stands out (DeskSettings.long_pause_minutes; 0 = never).
function flagLongPauses() {
  const limit = state ? state.long_pause_seconds : 0;
  for (const row of document.querySelectorAll("#agents tr[data-state=paused]")) {
    const over = limit > 0 && Boolean(row.dataset.since) && elapsedSeconds(row.dataset.since) >= limit;
    row.classList.toggle("long-pause", over);
    row.querySelector(".long-flag").hidden = !over;
  }
}

// Durations tick between pushes.
setInterval(() => {
  for (const td of document.querySelectorAll("td[data-since]")) {
    if (td.dataset.since) td.textContent = formatDuration(elapsedSeconds(td.dataset.since));
  }
  flagLongPauses();
}, 1000);

liveSocket("/ws/wallboard/", {
  onOpen: refresh,
  onMessage(message) {
    if (message.type === "call.update" || message.type === "agent.state") refreshSoon();
  },
});
// A login whose socket is refused (a superuser watching another organization) re-reads every few seconds;
// with the socket open, every 15 s all the same: callbacks fall due and are missed with no push.
setInterval(() => {
  const open = document.body.dataset.socket === "open";
  if (!open || Date.now() - lastRead >= 15000) refresh();
}, 5000);
refresh();
