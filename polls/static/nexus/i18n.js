// Django's JavaScript catalog (/jsi18n/, a classic script the pages with
// text load before their modules) as imports, and numbers and times in the
// page's language (<html lang>) by Intl instead of by hand. A page without
// the catalog (the event embed shows no text of its own) gets English.
const catalog = globalThis;
export const gettext = catalog.gettext ?? ((text) => text);
export const ngettext = catalog.ngettext ?? ((one, many, n) => (n === 1 ? one : many));
export const pgettext = catalog.pgettext ?? ((context, text) => text);

// "%(name)s" placeholders filled from `values`, as Django's interpolate(…, true).
export const format = (text, values) => text.replace(/%\((\w+)\)s/g, (_, name) => String(values[name]));

const lang = document.documentElement.lang || "en";
const numbers = new Intl.NumberFormat(lang);
const decimals = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const times = new Intl.DateTimeFormat(lang, { timeStyle: "medium" });

export const number = (n) => numbers.format(n);
export const decimal = (n) => decimals.format(n);
export const time = (when) => times.format(new Date(when));

// A poll's status and kind as words; the API's codes stay in data attributes.
const STATUS = {
  draft: pgettext("poll status", "draft"),
  open: pgettext("poll status", "open"),
  closed: pgettext("poll status", "closed"),
  deleted: pgettext("poll status", "deleted"),
};
export const statusWord = (status) => STATUS[status] ?? status;

const KIND = {
  single: pgettext("poll kind", "single choice"),
  multiple: pgettext("poll kind", "multiple choice"),
  rating: pgettext("poll kind", "rating"),
  ranking: pgettext("poll kind", "ranking"),
  text: pgettext("poll kind", "word cloud"),
  qa: pgettext("poll kind", "Q&A"),
};
export const kindWord = (kind) => KIND[kind] ?? kind;

// The stuffing detector's signal kinds (polls/integrity.py).
const SIGNAL = {
  prefix_burst: gettext("prefix burst"),
  rate_burst: gettext("rate burst"),
  lockstep: gettext("lockstep"),
};
export const signalWord = (kind) => SIGNAL[kind] ?? kind.replace("_", " ");
