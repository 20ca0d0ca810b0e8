"""The profanity filter on every open answer: safetype's word lists for
English, French, German and Spanish, swearing only (its "harassment"
category would refuse "you are an idiot", which a room may say of a demo).
It also catches the usual disguises (sh1t, $h!t, shiiit, "f u c k").

Chosen over better-profanity (English only, ~36 ms a check) and glin-
profanity (few words beyond English, false alarms with obfuscation on):
about 0.3 ms for a 200-character answer. Pinned exactly: it is young.
"""

from functools import cache

LANGUAGES = ("en", "fr", "de", "es")


@cache
def _engine():
    from safetype import create_moderation_engine

    return create_moderation_engine(
        mode="block", languages=list(LANGUAGES), categories=["profanity"]
    )


def refused(text: str) -> bool:
    """Does the filter refuse this text?"""
    return not _engine().moderate(text).allowed
