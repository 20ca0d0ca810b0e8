// A dashboard card's embed box (a poll's or an event's): the snippet to
// copy, at the server's public address (NEXUS_PUBLIC_URL, not this tab's),
// and the sites allowed to frame it, saved with a PATCH to `url`.
import { api, fieldErrors } from "./api.js";
import { format, gettext } from "./i18n.js";

const publicUrl = document.getElementById("events").dataset.publicUrl || location.origin;

// `item` has urls.embed and embed_origins; `name` titles the frame.
export function embedBox(box, item, name, url) {
  const snippet = box.querySelector(".embed-snippet");
  const transparent = box.querySelector(".embed-transparent");
  const form = box.querySelector(".embed-form");
  const write = () => {
    const src = `${publicUrl}${item.urls.embed}${transparent.checked ? "?background=transparent" : ""}`;
    const title = format(gettext("Live results: %(question)s"), { question: name }).replace(/["<>&]/g, "");
    snippet.value = `<iframe src="${src}" width="640" height="400" style="border:0" title="${title}"></iframe>`;
  };
  transparent.addEventListener("change", write);
  box.querySelector(".copy-snippet").addEventListener("click", () => {
    snippet.select();
    navigator.clipboard?.writeText(snippet.value);
  });
  form.elements.origins.value = item.embed_origins.join("\n");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const origins = form.elements.origins.value.split("\n").map((line) => line.trim()).filter(Boolean);
    const answer = await api("PATCH", url, { embed_origins: origins });
    box.querySelector(".embed-error").textContent = answer.ok ? "" : fieldErrors(answer);
    box.querySelector(".embed-saved").textContent = answer.ok ? gettext("Saved.") : "";
    if (answer.ok) item.embed_origins = answer.data.embed_origins;
  });
  write();
}
