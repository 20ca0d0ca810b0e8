"""Domain errors with the contract's codes (see nexus.errors)."""

from django.utils.translation import gettext_lazy as _

from nexus.errors import ApplicationError


class PollClosed(ApplicationError):
    status, code, detail = 409, "poll_closed", _("This poll is not open for voting.")


class AlreadyVoted(ApplicationError):
    status, code, detail = 409, "already_voted", _("You have already voted in this poll.")


class VoteChangeNotAllowed(ApplicationError):
    status, code, detail = (
        409,
        "vote_change_not_allowed",
        _("This poll does not allow changing a vote."),
    )


class InvalidChoice(ApplicationError):
    status, code, detail = 400, "invalid_choice", _("The choices are not valid for this poll.")


class PollHasVotes(ApplicationError):
    status, code, detail = (
        409,
        "poll_has_votes",
        _("Choices and kind cannot change once votes exist."),
    )


class ResultsHidden(ApplicationError):
    status, code, detail = 403, "results_hidden", _("Results are not visible yet.")


class IdempotencyMismatch(ApplicationError):
    status, code = 422, "idempotency_mismatch"
    detail = _("This Idempotency-Key was already used with a different request.")


class InvalidVoterId(ApplicationError):
    status, code = 400, "invalid_voter_id"
    detail = _("This voter id was not issued here: get one from POST /api/voters/.")


class PasscodeRequired(ApplicationError):
    status, code, detail = 403, "passcode_required", _("This poll needs its passcode to vote.")


class WrongPasscode(ApplicationError):
    status, code, detail = 403, "wrong_passcode", _("The passcode is not right.")


class NotInvited(ApplicationError):
    status, code, detail = 403, "not_invited", _("This poll takes votes by invitation only.")


class AddressLimit(ApplicationError):
    status, code = 429, "address_limit"
    detail = _("This poll has taken as many ballots from your network as it allows.")


class InviteUsed(ApplicationError):
    status, code, detail = (
        409,
        "invite_used",
        _("This invite has voted; it can no longer be revoked."),
    )


class NotAllowed(ApplicationError):
    status, code = 400, "not_allowed"
    detail = _("That answer uses words this poll does not take. Please say it another way.")


class ChallengeRequired(ApplicationError):
    status, code = 403, "challenge_required"
    detail = _(
        "This poll asks a new voter for proof of work: solve"
        " GET /api/polls/{id}/challenge/ and send it as X-Challenge."
    )


class ChallengeFailed(ApplicationError):
    status, code = 403, "challenge_failed"
    detail = _(
        "This X-Challenge is not a solved, unexpired challenge of this poll,"
        " or it was used already: get a new one."
    )
