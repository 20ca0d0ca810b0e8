import { renderResults, choiceTexts } from "./bars.js";
import { watchPoll } from "./live.js";

const poll = JSON.parse(document.getElementById("poll-data").textContent);
const texts = choiceTexts(poll);
const bars = document.getElementById("bars");
const status = document.getElementById("status");
const connection = document.getElementById("connection");
const hiddenNote = document.getElementById("hidden-note");

// The screen is public: whoever is signed in, results stay hidden until
// the poll closes unless the poll shows them live.
function hidden(state) { return poll.results !== "live" && state.status !== "closed"; }

function show(state) {
  const hide = hidden(state);
  hiddenNote.hidden = !hide;
  renderResults(bars, texts, state, poll, { hidden: hide, runoff: document.getElementById("runoff") });
  document.getElementById("total").textContent = state.total_votes;
  document.getElementById("total-word").textContent = state.total_votes === 1 ? "vote" : "votes";
  status.textContent = state.status;
  status.dataset.status = state.status;
}

show({ status: poll.status, total_votes: 0, choices: poll.choices.map((c) => ({ id: c.id, votes: 0, share: 0 })) });
watchPoll(poll.id, show, {
  onStatus(state) {
    connection.hidden = state === "live";
    connection.textContent = state === "hidden" ? "" : "reconnecting…";
    if (state === "hidden") { hiddenNote.hidden = false; connection.hidden = true; }
    if (state === "deleted" || state === "not_found") { status.textContent = "deleted"; }
  },
});
