// A phone at an event (/e/{id}/): the current poll's voter page, switched
// as the presenter moves on, without reloading this page.
import { gettext } from "./i18n.js";
import { watchEvent } from "./live.js";

const event = JSON.parse(document.getElementById("event-data").textContent);
const frame = document.getElementById("current-poll");
const waiting = document.getElementById("waiting");
const connection = document.getElementById("connection");

function show(state) {
  const src = state.current ? `/p/${state.current}/?embed=1` : "";
  waiting.hidden = Boolean(state.current);
  frame.hidden = !state.current;
  if (src && frame.dataset.poll !== state.current) {
    frame.dataset.poll = state.current;
    frame.src = src;
  } else if (!src) {
    frame.dataset.poll = "";
    frame.removeAttribute("src");
  }
}

watchEvent(event.id, show, {
  onStatus(status) {
    connection.hidden = status === "live";
    if (status === "deleted" || status === "not_found") {
      waiting.hidden = false;
      waiting.textContent = gettext("This event has ended.");
      frame.hidden = true;
    }
  },
});
