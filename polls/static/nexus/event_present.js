// The projector at an event (/e/{id}/present/): the current poll's screen,
// the event's join code and QR code, and for its owner the controls, with
// keys as for slides: → or space next, ← previous, c close (o open),
// r show or hide results, t close after a countdown (30 s, ?countdown=N).
import { api, plainError } from "./api.js";
import { format, gettext, number } from "./i18n.js";
import { watchEvent } from "./live.js";

// ?countdown=N sets the countdown's length (seconds, 1 to 600; 30 by default).
const asked = Number(new URLSearchParams(location.search).get("countdown"));
const COUNTDOWN_S = Number.isInteger(asked) && asked >= 1 && asked <= 600 ? asked : 30;
const event = JSON.parse(document.getElementById("event-data").textContent);
const frame = document.getElementById("current-poll");
const waiting = document.getElementById("waiting");
const message = document.getElementById("control-message");
const position = document.getElementById("position");
let state = { current: null, version: 0 };
let polls = event.polls;
let status = null; // the current poll's status, from its results messages
let veiled = false; // the presenter hid the results on the projector
let closesAt = null; // the countdown's end (ms since the epoch), if one runs

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
    status = null; closesAt = null; showControls();
  }
  const index = polls.indexOf(next.current);
  if (position) position.textContent = `${index < 0 ? "–" : number(index + 1)} / ${number(polls.length)}`;
  if (event.is_owner) preview(polls[index + 1]);
}

// The owner's eyes only (this page shows it to the signed-in owner): the
// question that → brings up next.
async function preview(pollId) {
  const box = document.getElementById("preview");
  const answer = pollId ? await api("GET", `/api/polls/${pollId}/`) : null;
  box.hidden = !answer?.ok;
  if (answer?.ok) document.getElementById("preview-question").textContent = answer.data.question;
}

function veil() { frame.contentDocument?.body?.classList.toggle("veiled", veiled); }
frame.addEventListener("load", veil); // the presenter's choice holds across questions

function showControls() {
  if (!event.is_owner) return;
  const openClose = document.getElementById("open-close");
  openClose.textContent = status === "closed" ? gettext("Open") : gettext("Close");
  openClose.disabled = !state.current;
  document.getElementById("countdown").disabled = !state.current || status === "closed";
  const toggle = document.getElementById("results-toggle");
  toggle.textContent = veiled ? gettext("Show results") : gettext("Hide results");
  toggle.setAttribute("aria-pressed", String(veiled));
  const left = document.getElementById("countdown-left");
  const seconds = closesAt && status !== "closed" ? Math.max(0, Math.ceil((closesAt - Date.now()) / 1000)) : null;
  left.hidden = seconds === null;
  left.textContent = seconds === null ? "" : format(gettext("Closes in %(seconds)s s"), { seconds: number(seconds) });
}
setInterval(showControls, 250);

async function act(call) {
  const answer = await call();
  message.textContent = answer.ok ? "" : plainError(answer);
  return answer;
}

async function go(step) {
  await refreshPolls();
  const index = polls.indexOf(state.current);
  const target = polls[index < 0 ? (step > 0 ? 0 : polls.length - 1) : index + step];
  if (target === undefined) {
    message.textContent = step > 0 ? gettext("That was the last question.") : gettext("This is the first question.");
    return;
  }
  const answer = await act(() => api("POST", `/api/events/${event.id}/current/`, { poll: target }));
  if (answer.ok) show(answer.data);
}

async function setOpen(open) {
  if (!state.current) return;
  const answer = await act(() => api("POST", `/api/polls/${state.current}/${open ? "open" : "close"}/`));
  if (answer.ok) { status = answer.data.status; closesAt = null; showControls(); }
}

async function countdown() {
  if (!state.current || status === "closed") return;
  const at = new Date(Date.now() + COUNTDOWN_S * 1000);
  const answer = await act(() => api("PATCH", `/api/polls/${state.current}/`, { closes_at: at.toISOString() }));
  if (answer.ok) { closesAt = at.getTime(); showControls(); }
}

function toggleResults() { veiled = !veiled; veil(); showControls(); }

if (event.is_owner) {
  document.getElementById("countdown").textContent = format(gettext("Close in %(seconds)s s"), { seconds: number(COUNTDOWN_S) });
  document.getElementById("next").addEventListener("click", () => go(1));
  document.getElementById("previous").addEventListener("click", () => go(-1));
  document.getElementById("open-close").addEventListener("click", () => setOpen(status === "closed"));
  document.getElementById("results-toggle").addEventListener("click", toggleResults);
  document.getElementById("countdown").addEventListener("click", countdown);
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select, button") || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = {
      ArrowRight: () => go(1), " ": () => go(1), ArrowLeft: () => go(-1),
      c: () => setOpen(false), o: () => setOpen(true), r: toggleResults, t: countdown,
    };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
}

watchEvent(event.id, (next) => { if (next.version > state.version) show(next); }, {
  onStatus(s) { document.getElementById("connection").hidden = s === "live"; },
  onResults(msg) { if (msg.poll === state.current) { status = msg.status; showControls(); } },
});
