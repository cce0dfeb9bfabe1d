// The supervisor wallboard: the organization's live calls and each agent's state.
import { AGENT_LABELS, LABELS, LIVE, isStale, getJSON, syncClock, elapsedSeconds, formatDuration, cell, liveSocket } from "./live.js";

const agentsBody = document.getElementById("agents");
const callsBody = document.getElementById("calls");

const agents = new Map(); // id -> agent (with .call)
const liveCalls = new Map(); // request_uuid -> call
const seen = new Map(); // request_uuid -> newest known state, live or not

function apply(call) {
  if (isStale(call, seen.get(call.request_uuid))) return;
  seen.set(call.request_uuid, call);
  const agent = agents.get(call.agent_id);
  if (LIVE.has(call.status)) {
    liveCalls.set(call.request_uuid, call);
    if (agent) agent.call = call;
  } else {
    liveCalls.delete(call.request_uuid);
    if (agent && agent.call && agent.call.request_uuid === call.request_uuid) agent.call = null;
  }
  render();
}

async function refresh() {
  const response = await getJSON("/wallboard/state");
  if (!response.ok) return;
  syncClock(response.data.now);
  agents.clear();
  liveCalls.clear();
  for (const agent of response.data.agents) agents.set(agent.id, agent);
  for (const call of response.data.calls) {
    liveCalls.set(call.request_uuid, call);
    seen.set(call.request_uuid, call);
  }
  render();
}

function since(call) {
  return formatDuration(elapsedSeconds(call.answered_at || call.started_at || call.created_at));
}

function render() {
  agentsBody.replaceChildren(
    ...[...agents.values()].map((agent) => {
      const row = document.createElement("tr");
      row.dataset.agentId = agent.id;
      const label = AGENT_LABELS[agent.state] || agent.state;
      const state = agent.pause_reason ? `${label} (${agent.pause_reason})` : label;
      const call = agent.call ? `${agent.call.to} · ${LABELS[agent.call.status]}` : "–";
      row.append(cell(agent.username), cell(agent.number), cell(state), cell(agent.online ? "open" : "closed"), cell(call));
      row.className = agent.call ? "busy" : "free";
      return row;
    }),
  );
  callsBody.replaceChildren(
    ...[...liveCalls.values()].map((call) => {
      const row = document.createElement("tr");
      row.dataset.requestUuid = call.request_uuid;
      const agent = agents.get(call.agent_id);
      row.append(
        cell(call.from), cell(call.to), cell(call.kind === "click_to_call" ? "Click-to-call" : "API"),
        cell(agent ? agent.username : "–"), cell(LABELS[call.status]), cell(since(call)),
      );
      return row;
    }),
  );
}

setInterval(render, 1000);
liveSocket("/ws/wallboard/", {
  onOpen: refresh,
  onMessage(message) {
    if (message.type === "call.update") apply(message.call);
    else if (message.type === "agent.state") {
      const agent = agents.get(message.state.agent_id);
      if (agent) {
        agent.state = message.state.state;
        agent.pause_reason = message.state.pause_reason;
        render();
      }
    }
  },
});
refresh();
