import { api, plainError } from "./api.js";
import { renderBars, choiceTexts } from "./bars.js";
import { watchPolls } from "./live.js";

const grid = document.getElementById("polls");
const template = document.getElementById("poll-card");
const cards = new Map();

const live = watchPolls((state) => {
  const card = cards.get(state.poll);
  if (!card) return;
  card.el.querySelector(".total").textContent = state.total_votes;
  card.el.querySelector(".total-word").textContent = state.total_votes === 1 ? "vote" : "votes";
  card.el.querySelector(".status").textContent = state.status;
  card.el.dataset.status = state.status;
  renderBars(card.el.querySelector(".bars"), card.texts, state);
}, { onError: (msg) => msg.poll && cards.get(msg.poll)?.el.classList.add("gone") });

function addCard(poll) {
  const el = template.content.firstElementChild.cloneNode(true);
  el.dataset.poll = poll.id;
  el.dataset.status = poll.status;
  el.querySelector(".q").textContent = poll.question;
  el.querySelector(".status").textContent = poll.status;
  el.querySelector(".present").href = poll.urls.present;
  el.querySelector(".vote").href = poll.urls.page;
  el.querySelectorAll("button[data-action]").forEach((button) => {
    button.setAttribute("aria-label", `${button.dataset.action} “${poll.question}”`);
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      if (action === "reset" && !confirm("Delete every vote in this poll?")) return;
      const answer = await api("POST", `/api/polls/${poll.id}/${action}/`);
      if (!answer.ok) alert(plainError(answer));
    });
  });
  grid.append(el);
  cards.set(poll.id, { el, texts: choiceTexts(poll) });
  live.subscribe(poll.id);
}

const answer = await api("GET", "/api/polls/?mine=true&limit=100");
if (answer.ok) {
  answer.data.results.forEach(addCard);
  document.getElementById("empty").hidden = answer.data.results.length > 0;
}
