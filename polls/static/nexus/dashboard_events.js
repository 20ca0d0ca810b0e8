// The dashboard's events: create one, order or remove its polls (↑ ↓ ×;
// a removed poll stays a poll), embed it, present it, delete it.
import { api, plainError } from "./api.js";
import { embedBox } from "./embed_box.js";
import { format, gettext } from "./i18n.js";

const list = document.getElementById("events");
const template = document.getElementById("event-card");
const error = document.getElementById("event-error");
const questions = new Map(); // poll id -> question, for the owner's polls

async function loadQuestions() {
  const answer = await api("GET", "/api/polls/?mine=true&limit=100");
  if (answer.ok) for (const poll of answer.data.results) questions.set(poll.id, poll.question);
}

function button(label, text, onClick) {
  const b = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function render(el, event) {
  el.querySelector(".title").textContent = event.title;
  el.querySelector(".code").textContent = event.id;
  el.querySelector(".present").href = event.urls.present;
  el.querySelector(".add").href = `/?event=${event.id}`;
  el.querySelector(".empty").hidden = event.polls.length > 0;
  const polls = el.querySelector(".event-polls");
  polls.replaceChildren(...event.polls.map((id, i) => {
    const item = document.createElement("li");
    item.dataset.poll = id;
    const question = questions.get(id) || id;
    item.append(document.createTextNode(`${question} (${id}) `));
    const order = (next) => async () => {
      const answer = await api("PUT", `/api/events/${event.id}/polls/`, { polls: next });
      if (answer.ok) render(el, answer.data); else error.textContent = plainError(answer);
    };
    const moved = (from, to) => { const next = [...event.polls]; next.splice(to, 0, next.splice(from, 1)[0]); return next; };
    const named = (text) => format(text, { question });
    if (i > 0) item.append(button(named(gettext("Move “%(question)s” up")), "↑", order(moved(i, i - 1))));
    if (i < event.polls.length - 1) {
      item.append(button(named(gettext("Move “%(question)s” down")), "↓", order(moved(i, i + 1))));
    }
    item.append(button(named(gettext("Remove “%(question)s” from the event")), "×", order(event.polls.filter((p) => p !== id))));
    return item;
  }));
}

function addCard(event) {
  const el = template.content.firstElementChild.cloneNode(true);
  el.dataset.event = event.id;
  render(el, event);
  embedBox(el.querySelector(".embed"), event, event.title, `/api/events/${event.id}/`);
  el.querySelector(".delete").addEventListener("click", async () => {
    if (!confirm(format(gettext("Delete the event “%(title)s”? Its polls stay."), { title: event.title }))) return;
    const answer = await api("DELETE", `/api/events/${event.id}/`);
    if (answer.ok) el.remove(); else error.textContent = plainError(answer);
  });
  list.append(el);
}

document.getElementById("new-event").addEventListener("submit", async (e) => {
  e.preventDefault();
  const title = document.getElementById("event-title");
  const answer = await api("POST", "/api/events/", { title: title.value.trim() });
  if (!answer.ok) { error.textContent = answer.data?.fields?.title || plainError(answer); return; }
  error.textContent = "";
  title.value = "";
  addCard(answer.data);
});

await loadQuestions();
const answer = await api("GET", "/api/events/?mine=true&limit=100");
if (answer.ok) answer.data.results.forEach(addCard);
