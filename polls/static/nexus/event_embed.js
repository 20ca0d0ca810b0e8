// An event embedded on another site (/e/{id}/embed/): the current question's
// embed, switched as the presenter moves on.
import { watchEvent } from "./live.js";

const root = document.getElementById("event-embed-page");
const event = JSON.parse(document.getElementById("event-data").textContent);
const frame = document.getElementById("current-poll");
const waiting = document.getElementById("waiting");

watchEvent(event.id, (state) => {
  waiting.hidden = Boolean(state.current);
  frame.hidden = !state.current;
  if (state.current && frame.dataset.poll !== state.current) {
    frame.dataset.poll = state.current;
    frame.src = `/p/${state.current}/embed/?event=${event.id}${root.dataset.query}`;
  }
});
