"""The one-click CSAT pages a resolution e-mail links to (`/rate/<token>?r=good|okay|bad`).

Mail gateways' link scanners open (GET, HEAD) every link of an e-mail before the customer does, so
opening a link records nothing: it shows a confirm page with the clicked choice preselected and a
"Send my rating" button (a POST), and an optional comment box. The POST records the rating through the
tickets service (rate_ticket) and answers with a redirect to the thank-you page (a reload does not post
again), which offers the comment box when none was given. The customer may change their rating while
the link works (another click, another POST): the latest counts.

The token (shared/contracts/rating_links.py) names the ticket and its resolution round: a forged or
damaged token is a 400, an expired one a 410, and so is a link of an earlier round (the ticket was
reopened, or resolved again since: the newer e-mail has the working link). No CSRF token: the form's
only authority is the secret link itself, which a cross-site page cannot know. Pages are never cached,
never indexed and send no Referer (the link is a credential).
"""
from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for

from services.tracker_gateway.core.rpc import tickets
from shared.contracts.enums import RATINGS
from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.contracts.rating_links import EXPIRED, INVALID

bp = Blueprint("rating", __name__)

INVALID_MESSAGE = "This rating link is not valid. Please use the link from your e-mail as it was sent."
EXPIRED_MESSAGE = "This rating link has expired. Thank you all the same: you can still reply to our e-mail."
EARLIER_MESSAGE = ("This rating link is for an earlier resolution of your ticket. If we resolved it again, "
                   "the newest e-mail has a link that works.")
CHOICE_MESSAGE = "Choose good, okay or bad."
COMMENT_MAX = 2000
LABELS = {"good": "Good", "okay": "Okay", "bad": "Bad"}


class Refused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


@bp.errorhandler(Refused)
def _refused(exc):
    return _private(make_response(render_template("common/error.html", status=exc.status, message=exc.message),
                                  exc.status))


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link(token):
    """(ticket_id, round) of a working link; Refused (400 forged, 410 expired) otherwise."""
    outcome, ticket_id, round_ = current_app.extensions["rating_links"].check(token)
    if outcome == INVALID:
        raise Refused(400, INVALID_MESSAGE)
    if outcome == EXPIRED:
        raise Refused(410, EXPIRED_MESSAGE)
    return ticket_id, round_


def _state(ticket_id, round_):
    try:
        return tickets().rating_state(ticket_id, round_)
    except NotFound:
        raise Refused(410, EXPIRED_MESSAGE) from None
    except Conflict:
        raise Refused(410, EARLIER_MESSAGE) from None


def _page(token, state, status=200, chosen=None, comment=None, error=None, thanks=False):
    return _private(make_response(render_template(
        "public/rate.html", token=token, state=state, ratings=RATINGS, labels=LABELS, thanks=thanks, error=error,
        chosen=chosen or state.get("rating"), comment=state.get("comment") if comment is None else comment,
    ), status))


@bp.get("/rate/<token>")
def confirm(token):
    """The confirm page: the clicked choice preselected, nothing recorded (a scanner's GET or HEAD counts for nothing)."""
    ticket_id, round_ = _link(token)
    state = _state(ticket_id, round_)
    choice = request.args.get("r")
    return _page(token, state, chosen=choice if choice in RATINGS else None)


@bp.post("/rate/<token>")
def record(token):
    """Record the customer's rating (and comment); then the thank-you page."""
    ticket_id, round_ = _link(token)
    rating = request.form.get("rating")
    comment = (request.form.get("comment") or "").strip()
    if rating not in RATINGS or len(comment) > COMMENT_MAX:
        state = _state(ticket_id, round_)
        error = CHOICE_MESSAGE if rating not in RATINGS else f"Keep the comment under {COMMENT_MAX} characters."
        return _page(token, state, 422, chosen=rating, comment=comment, error=error)
    try:
        tickets().rate_ticket({"ticket_id": ticket_id, "round": round_, "rating": rating, "comment": comment or None})
    except NotFound:
        raise Refused(410, EXPIRED_MESSAGE) from None
    except Conflict:
        raise Refused(410, EARLIER_MESSAGE) from None
    except ValidationError:
        return _page(token, _state(ticket_id, round_), 422, chosen=rating, comment=comment, error=CHOICE_MESSAGE)
    return redirect(url_for("rating.thanks", token=token), 303)


@bp.get("/rate/<token>/thanks")
def thanks(token):
    """Thanks, the rating as recorded, and the optional comment box."""
    ticket_id, round_ = _link(token)
    return _page(token, _state(ticket_id, round_), thanks=True)
