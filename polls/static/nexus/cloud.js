// The presenter's word cloud. d3-cloud (vendor/d3-cloud, a classic script
// setting window.d3.layout.cloud) places the words; this draws them as SVG
// text that glides to its new place (a CSS transition on transform) as
// answers arrive, instead of the whole cloud being redrawn.

// The same seed every layout: words keep roughly their places between updates.
function seeded(seed = 7) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SVG = "http://www.w3.org/2000/svg";

function draw(svg, placed, width, height) {
  svg.setAttribute("viewBox", `${-width / 2} ${-height / 2} ${width} ${height}`);
  const old = new Map([...svg.querySelectorAll("text")].map((t) => [t.dataset.word, t]));
  for (const word of placed) {
    let text = old.get(word.text);
    old.delete(word.text);
    const at = `translate(${word.x}px, ${word.y}px)`;
    if (!text) {
      text = document.createElementNS(SVG, "text");
      text.dataset.word = word.text;
      text.textContent = word.text;
      text.setAttribute("text-anchor", "middle");
      text.style.transform = `${at} scale(0.2)`;
      svg.append(text);
    }
    text.dataset.count = word.count;
    text.style.fontSize = `${word.size}px`;
    requestAnimationFrame(() => { text.style.transform = at; });
  }
  for (const gone of old.values()) gone.remove();
}

// words: [{word, count}], most counted first (the results' `words`).
export function renderCloud(svg, words) {
  const key = JSON.stringify(words);
  if (svg.dataset.key === key) return;
  svg.dataset.key = key;
  const { width, height } = svg.getBoundingClientRect();
  const most = Math.max(1, ...words.map((w) => w.count));
  const cloud = window.d3?.layout?.cloud;
  if (!cloud || !width || !height) return;
  cloud()
    .size([width, height])
    .words(words.map((w) => ({ text: w.word, count: w.count, size: 14 + 70 * Math.sqrt(w.count / most) })))
    .padding(4)
    .rotate(0)
    .font("system-ui, sans-serif")
    .fontSize((w) => w.size)
    .random(seeded())
    .on("end", (placed) => draw(svg, placed, width, height))
    .start();
}
