import { api, plainError } from "./api.js";
import { renderResults, choiceTexts } from "./bars.js";
import { renderCloud } from "./cloud.js";
import { gettext, ngettext, number, statusWord } from "./i18n.js";
import { watchPoll } from "./live.js";
import { renderQuestions } from "./questions.js";
import { replay } from "./replay.js";

const poll = JSON.parse(document.getElementById("poll-data").textContent);
const texts = choiceTexts(poll);
const bars = document.getElementById("bars");
const main = document.querySelector(".stage-main");
const status = document.getElementById("status");
const connection = document.getElementById("connection");
const hiddenNote = document.getElementById("hidden-note");

// The screen is public: whoever is signed in, results stay hidden until
// the poll closes unless the poll shows them live.
function hidden(state) { return poll.results !== "live" && state.status !== "closed"; }

// One screen, never a scroll: shrink the type (to 40% at most) until the
// question and its bars fit, on a 1080p projector or a 720p one.
function fit({ grow = false } = {}) {
  let scale = grow ? 1 : Number(main.style.getPropertyValue("--fit") || 1);
  if (!grow && main.scrollHeight <= main.clientHeight) return;
  main.style.setProperty("--fit", scale);
  while (main.scrollHeight > main.clientHeight && scale > 0.4) {
    scale = Math.round((scale - 0.05) * 100) / 100;
    main.style.setProperty("--fit", scale);
  }
}
addEventListener("resize", () => fit({ grow: true }));

const qa = poll.kind === "qa";

// The owner, on a Q&A poll: pin, mark answered or hide a question from here.
const moderate = document.getElementById("questions")?.dataset.moderates ? async (id, action) => {
  const [method, step] = action === "unpin" ? ["DELETE", "pin"] : ["POST", action];
  const answer = await api(method, `/api/polls/${poll.id}/questions/${id}/${step}/`);
  connection.hidden = answer.ok;
  if (!answer.ok) connection.textContent = plainError(answer);
} : null;

function showTotal(total) {
  document.getElementById("total").textContent = number(total);
  document.getElementById("total-word").textContent = qa
    ? ngettext("question", "questions", total) : ngettext("vote", "votes", total);
}

function showStatus(value) {
  status.textContent = statusWord(value);
  status.dataset.status = value;
  const draft = document.getElementById("draft");
  if (draft) draft.hidden = value !== "draft";
  const join = document.getElementById("join");
  if (join) join.hidden = value === "draft";
}

// A text poll: the cloud, or (key l) the newest shown answers as a list.
const cloud = document.getElementById("cloud");
const answers = document.getElementById("answers");
addEventListener("keydown", (event) => {
  if (event.key !== "l" || !cloud || event.target.closest?.("input, textarea, button")) return;
  cloud.hidden = !cloud.hidden;
  answers.hidden = !cloud.hidden;
});

function showAnswers(state, hide) {
  renderCloud(cloud, hide ? [] : state.words ?? []);
  answers.replaceChildren(...(hide ? [] : state.answers ?? []).map((answer) => {
    const item = document.createElement("li");
    item.textContent = answer.text;
    return item;
  }));
}

// A closed poll's replay (single and multiple choice): the bars move again
// from the first ballot to the close; live states wait meanwhile.
const replayButton = document.getElementById("replay");
const replayClock = document.getElementById("replay-clock");
let replaying = null;
let latest = null;

replayButton?.addEventListener("click", async () => {
  if (replaying) { replaying.abort(); return; }
  replaying = new AbortController();
  replayButton.textContent = gettext("Stop the replay");
  replayClock.hidden = false;
  const render = (state) => {
    renderResults(bars, texts, state, poll, {});
    showTotal(state.total_votes);
  };
  const clock = (text) => { replayClock.textContent = text; };
  try {
    await replay(poll.id, { render, clock, signal: replaying.signal, status: "closed" });
  } finally {
    replaying = null;
    replayButton.textContent = gettext("Replay the vote");
    replayClock.hidden = true;
    if (latest) show(latest);
  }
});

function show(state) {
  latest = state;
  if (replaying && state.status === "closed") return;
  replaying?.abort(); // reopened meanwhile: the live vote wins
  if (replayButton) replayButton.hidden = state.status !== "closed" || hidden(state) || !state.total_votes;
  const hide = hidden(state);
  hiddenNote.hidden = !hide;
  if (cloud) showAnswers(state, hide);
  if (qa) {
    const questions = hide ? [] : state.questions ?? [];
    renderQuestions(document.getElementById("questions"), questions, { moderate, limit: 8 });
    document.getElementById("no-questions").hidden = questions.length > 0;
  }
  renderResults(bars, texts, state, poll, { hidden: hide, runoff: document.getElementById("runoff") });
  showTotal(qa ? state.shown ?? 0 : state.total_votes);
  showStatus(state.status);
  fit();
}

// A draft, on its owner's screen: open it from here (the QR code would
// otherwise lead voters to a page that does not exist for them).
document.getElementById("open-poll")?.addEventListener("click", async () => {
  const answer = await api("POST", `/api/polls/${poll.id}/open/`);
  document.getElementById("open-error").textContent = answer.ok ? "" : plainError(answer);
  if (answer.ok) showStatus(answer.data.status);
});

// Results hidden from this screen (after_vote or after_close, signed out):
// the socket says nothing until they show, so meanwhile the screen asks for
// the poll's turnout every few seconds, and watches again once it closes.
let turnout = null;
function followTurnout() {
  if (turnout) return;
  turnout = setInterval(async () => {
    const answer = await api("GET", `/api/polls/${poll.id}/`);
    if (!answer.ok) return;
    if (!qa) showTotal(answer.data.total_votes);
    showStatus(answer.data.status);
    if (answer.data.status === "closed") {
      clearInterval(turnout);
      turnout = null;
      watcher.stop();
      watcher = watch();
    }
  }, 3000);
}

function watch() {
  return watchPoll(poll.id, show, {
    onStatus(state) {
      connection.hidden = state === "live";
      connection.textContent = state === "hidden" ? "" : gettext("reconnecting…");
      if (state === "hidden") { hiddenNote.hidden = false; connection.hidden = true; followTurnout(); }
      if (state === "deleted" || state === "not_found") { status.textContent = statusWord("deleted"); }
    },
  });
}

const empty = poll.choices.map((c) => ({ id: c.id, votes: 0, share: 0 }));
show({ status: poll.status, total_votes: poll.total_votes, choices: empty });
fit({ grow: true });
let watcher = watch();
