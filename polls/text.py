"""Open answers (text polls): what an answer may be, and the words it counts for.

An answer is normalised (Unicode NFKC, whitespace collapsed), checked
(1..200 characters, no control characters, nothing the profanity filter or
the poll's own blocked words refuse), and split into words: case-folded,
stop words of the languages in STOP_LANGUAGES left out, each word counted
once per answer. The word cloud is the count of those words over the
poll's shown answers (TallyLine `w:<word>`).
"""

import re
import unicodedata
from functools import cache

from django.utils.translation import gettext, gettext_lazy

from nexus.errors import Invalid

from .errors import NotAllowed
from .moderation import refused

MAX_TEXT = 200
MAX_WORD = 32  # longer is a link or a keyboard mash, not a word for the cloud
STOP_LANGUAGES = ("english", "french", "german", "spanish")
WORD = re.compile(r"\w+(?:['’-]\w+)*")
SURROGATE = re.compile("[\ud800-\udfff]")  # half a character: not text
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


# Words the `stop-words` lists leave out that a word cloud exists to show:
# its 2025 English list counts opinions and topics ("great", "good",
# "interesting", "important", "computer") as stop words, and the French and
# Spanish ones "bien", "bon", "bueno".
KEEP = frozenset(
    [
        "great",
        "greater",
        "greatest",
        "good",
        "better",
        "best",
        "like",
        "liked",
        "interesting",
        "interest",
        "importance",
        "useful",
        "clear",
        "clearly",
        "new",
        "newer",
        "newest",
        "novel",
        "early",
        "late",
        "later",
        "long",
        "longer",
        "short",
        "simple",
        "easy",
        "hard",
        "fast",
        "slow",
        "large",
        "small",
        "big",
        "little",
        "high",
        "higher",
        "low",
        "lower",
        "thanks",
        "yes",
        "no",
        "true",
        "false",
        "right",
        "wrong",
        "open",
        "close",
        "closed",
        "important",
        "information",
        "example",
        "examples",
        "computer",
        "computers",
        "group",
        "groups",
        "member",
        "members",
        "number",
        "numbers",
        "order",
        "problem",
        "problems",
        "question",
        "questions",
        "work",
        "works",
        "working",
        "world",
        "year",
        "years",
        "bien",
        "bon",
        "bueno",
        "buena",
        "gut",
    ]
)


@cache
def stop_words() -> frozenset[str]:
    """The stop words of STOP_LANGUAGES, case-folded: the `stop-words`
    package's lists, less KEEP."""
    from stop_words import get_stop_words

    listed = {w.casefold() for lang in STOP_LANGUAGES for w in get_stop_words(lang)}
    return frozenset(listed - KEEP)


@cache
def _invisible() -> re.Pattern:
    """Characters that show nothing: every format character (soft hyphen,
    zero-width no-break space, word joiner, tags, ...) and the combining
    grapheme joiner. Taken out, so "zo\u00adnk" is the word the owner
    blocked, not a new one. Built once from the Unicode database."""
    hidden = [c for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"] + [0x34F]
    ranges: list[list[int]] = []
    for c in sorted(hidden):
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", _invisible().sub("", text)).split())


def tokens(text: str) -> list[str]:
    """Every word of the text, case-folded, in order (stop words included)."""
    return [m.group().casefold() for m in WORD.finditer(text)]


def words_of(text: str) -> list[str]:
    """The words an answer counts for: no stop words, none shorter than 2, once each."""
    seen: dict[str, None] = {}
    for word in tokens(normalised(text)):
        if 1 < len(word) <= MAX_WORD and word not in stop_words() and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)


def blocked(poll) -> frozenset[str]:
    """The poll owner's own words to refuse (one per line or comma), case-folded."""
    listed = unicodedata.normalize("NFKC", poll.blocked_words or "").casefold()
    return frozenset(w.strip() for w in re.split(r"[\n,]+", listed) if w.strip())


TOP_WORDS = 100


def results(lines: dict[str, int]) -> dict:
    """A text poll's results from its counts: the top 100 words of shown
    answers (most counted first, then alphabetically), and how many answers
    show and wait."""
    counted = [(k[2:], n) for k, n in lines.items() if k.startswith("w:") and n > 0]
    counted.sort(key=lambda item: (-item[1], item[0]))
    return {
        "words": [{"word": w, "count": n} for w, n in counted[:TOP_WORDS]],
        "shown": lines.get("n:shown", 0),
        "pending": lines.get("n:pending", 0),
    }


def lines(words: str, state: str) -> list[str]:
    """The cached counts (TallyLine keys) one answer adds: `n:<state>`, and
    `w:<word>` for each of its words once it shows."""
    return [f"n:{state}", *(f"w:{w}" for w in words.split() if state == "shown")]


def warm() -> None:
    """Load what the first answer would otherwise wait for: the stop-word
    lists, the invisible characters' pattern and the profanity filter's
    lists (a few hundred ms). Server processes call it at start-up."""
    words_of(normalised("warm up"))
    refused("warm up")


def checked_text(text, *, noun: str = "answer") -> tuple[str, tuple[str, ...]]:
    """The answer as stored and the words it counts for, or the contract's
    error: 400 `invalid` for empty, too long or control characters, 400
    `not_allowed` for what the profanity filter refuses. Run in the request's
    thread, before the vote pipeline: the filter's ~0.3 ms would otherwise
    be spent in the one committer thread, once per answer of every batch."""
    if not isinstance(text, str):
        raise Invalid(fields={"text": _too_long(noun)})
    if CONTROL.search(text) or SURROGATE.search(text):
        raise Invalid(fields={"text": gettext("May not contain control characters.")})
    answer = normalised(text)
    if not answer or len(answer) > MAX_TEXT:
        raise Invalid(fields={"text": _too_long(noun)})
    if refused(answer):
        raise NotAllowed(_not_allowed(noun))
    return answer, tuple(words_of(answer))


def checked_answer(poll, text: str | None, *, noun: str = "answer") -> None:
    """Under the poll's lock: 400 `not_allowed` for a word the owner refuses.
    `text` is checked_text's answer."""
    own = blocked(poll)
    if own and any(word in own for word in tokens(text or "")):
        raise NotAllowed(_not_allowed(noun))


def _too_long(noun: str) -> str:
    if noun == "question":
        text = gettext("Write a question of 1 to %(most)d characters.")
    else:
        text = gettext("Write an answer of 1 to %(most)d characters.")
    return text % {"most": MAX_TEXT}


def _not_allowed(noun: str):
    """Lazy: checked_answer runs in the vote pipeline's committer thread."""
    if noun == "question":
        return gettext_lazy(
            "That question uses words this poll does not take. Please say it another way."
        )
    return gettext_lazy(
        "That answer uses words this poll does not take. Please say it another way."
    )
