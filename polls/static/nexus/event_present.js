// The projector at an event (/e/{id}/present/): the current poll's screen,
// the event's join code and QR code, and for its owner the controls, with
// keys as for slides: → or space next, ← previous.
import { api, plainError } from "./api.js";
import { watchEvent } from "./live.js";

const event = JSON.parse(document.getElementById("event-data").textContent);
const frame = document.getElementById("current-poll");
const waiting = document.getElementById("waiting");
const message = document.getElementById("control-message");
const position = document.getElementById("position");
let state = { current: null, version: 0 };
let polls = event.polls;

async function refreshPolls() {
  const answer = await api("GET", `/api/events/${event.id}/`);
  if (answer.ok) polls = answer.data.polls;
}

function show(next) {
  state = next;
  waiting.hidden = Boolean(next.current);
  frame.hidden = !next.current;
  if (next.current && frame.dataset.poll !== next.current) {
    frame.dataset.poll = next.current;
    frame.src = `/p/${next.current}/present/?embed=1`;
  }
  const index = polls.indexOf(next.current);
  if (position) position.textContent = index < 0 ? `– / ${polls.length}` : `${index + 1} / ${polls.length}`;
}

async function go(step) {
  await refreshPolls();
  const index = polls.indexOf(state.current);
  const target = polls[index < 0 ? (step > 0 ? 0 : polls.length - 1) : index + step];
  if (target === undefined) { message.textContent = step > 0 ? "That was the last question." : "This is the first question."; return; }
  const answer = await api("POST", `/api/events/${event.id}/current/`, { poll: target });
  message.textContent = answer.ok ? "" : plainError(answer);
  if (answer.ok) show(answer.data);
}

if (event.is_owner) {
  document.getElementById("next").addEventListener("click", () => go(1));
  document.getElementById("previous").addEventListener("click", () => go(-1));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select, button")) return;
    if (e.key === "ArrowRight" || e.key === " ") { e.preventDefault(); go(1); }
    if (e.key === "ArrowLeft") { e.preventDefault(); go(-1); }
  });
}

watchEvent(event.id, (next) => { if (next.version > state.version) show(next); }, {
  onStatus(status) { document.getElementById("connection").hidden = status === "live"; },
});
