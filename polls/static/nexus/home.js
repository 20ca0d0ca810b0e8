import { api } from "./api.js";

const form = document.getElementById("create");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelectorAll(".error").forEach((p) => { p.textContent = ""; });
    const data = new FormData(form);
    const body = {
      question: data.get("question").trim(),
      choices: data.get("choices").split("\n").map((line) => line.trim()).filter(Boolean),
      kind: data.get("kind"),
      results: data.get("results"),
      allow_vote_change: data.get("allow_vote_change") === "on",
      anonymous: data.get("named") !== "on",
    };
    const answer = await api("POST", "/api/polls/", body);
    if (answer.ok) { location.href = answer.data.urls.present; return; }
    const fields = answer.data?.fields || {};
    for (const [name, text] of Object.entries(fields)) {
      const slot = form.querySelector(`.error[data-for="${name}"]`) || form.querySelector('.error[data-for="form"]');
      slot.textContent = text;
    }
    if (!Object.keys(fields).length) form.querySelector('.error[data-for="form"]').textContent = answer.data?.detail || "Could not create the poll.";
  });
}
