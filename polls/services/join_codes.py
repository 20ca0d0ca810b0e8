"""Join codes: one namespace for polls and events (models.JoinCode)."""

from django.db import IntegrityError, transaction

from ..models import JoinCode, new_join_code

ATTEMPTS = 8  # 31^6 codes: a collision is rare, eight in a row is a broken generator


def join_code_claim() -> str:
    """A code no poll or event has ever had, reserved for good."""
    for attempt in range(ATTEMPTS):
        code = new_join_code()
        try:
            with transaction.atomic():
                JoinCode.objects.create(code=code)
            return code
        except IntegrityError:  # taken: draw another
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
