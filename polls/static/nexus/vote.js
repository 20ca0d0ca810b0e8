import { api, plainError } from "./api.js";
import { renderBars, choiceTexts } from "./bars.js";
import { watchPoll } from "./live.js";

const poll = JSON.parse(document.getElementById("poll-data").textContent);
const form = document.getElementById("ballot");
const message = document.getElementById("message");
const results = document.getElementById("results");
const note = document.getElementById("results-note");
let watching = null;

function say(text, kind = "info") { message.textContent = text; message.dataset.kind = kind; }

function showResults() {
  if (watching) return;
  watching = watchPoll(poll.id, (state) => {
    results.hidden = false; note.hidden = true;
    const word = state.total_votes === 1 ? "vote" : "votes";
    document.getElementById("total").textContent = `(${state.total_votes} ${word})`;
    renderBars(document.getElementById("bars"), choiceTexts(poll), state);
    if (state.status === "closed") { form.querySelectorAll("input, button").forEach((el) => { el.disabled = true; }); }
  }, {
    onStatus(status) {
      if (status === "hidden") {
        note.hidden = false;
        note.textContent = poll.results === "after_close" ? "Results appear when the poll closes." : "Results appear after you vote.";
      }
    },
  });
}

function mark(choiceIds) {
  for (const input of form.querySelectorAll("input[name=choice]")) {
    input.checked = choiceIds.includes(Number(input.value));
  }
}

function lockForm(locked) {
  form.querySelectorAll("input, button").forEach((el) => { el.disabled = locked; });
  document.getElementById("submit").textContent = poll.allow_vote_change ? "Change my vote" : "Vote";
}

form.addEventListener("change", (event) => {
  const checked = form.querySelectorAll("input[name=choice]:checked");
  if (poll.kind === "multiple" && checked.length > poll.max_choices) {
    event.target.checked = false;
    say(`You can pick up to ${poll.max_choices}.`, "error");
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const choices = [...form.querySelectorAll("input[name=choice]:checked")].map((i) => Number(i.value));
  if (!choices.length) return say("Pick a choice first.", "error");
  const answer = await api("POST", poll.urls.vote, { choices });
  if (answer.ok) {
    say(answer.status === 201 ? "Thank you — your vote is in." : "Your vote has been changed.", "ok");
    lockForm(!poll.allow_vote_change);
    showResults();
  } else {
    say(plainError(answer), "error");
    if (answer.data?.code === "already_voted") { lockForm(true); showResults(); }
    if (answer.data?.code === "poll_closed") { lockForm(true); showResults(); }
  }
});

// Coming back to the page: show the ballot this voter already cast.
const mine = await api("GET", `${poll.urls.vote}mine/`);
if (mine.ok) {
  mark(mine.data.choices);
  say("You have voted in this poll.", "ok");
  lockForm(!poll.allow_vote_change);
  showResults();
} else if (poll.status === "closed") {
  say(plainError({ data: { code: "poll_closed" } }), "error");
  lockForm(true);
  showResults();
} else if (poll.results === "live") {
  showResults();
}
