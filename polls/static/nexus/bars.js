// Result bars, updated in place so CSS can animate the widths.
export function renderBars(list, texts, state, { hidden = false } = {}) {
  for (const choice of state.choices) {
    let item = list.querySelector(`[data-choice="${choice.id}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.choice = choice.id;
      item.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="count"></span>';
      item.querySelector(".label").textContent = texts.get(choice.id) ?? "";
      list.append(item);
    }
    const percent = Math.round(choice.share * 100);
    item.querySelector(".fill").style.width = hidden ? "0%" : `${Math.min(100, percent)}%`;
    item.querySelector(".count").textContent = hidden ? "" : `${choice.votes} · ${percent}%`;
  }
}

export function choiceTexts(poll) {
  return new Map(poll.choices.map((c) => [c.id, c.text]));
}
