"""The site's icon: every page links it (templates/common/page.html), and /favicon.ico, which
browsers and tools ask for on their own, leads to it rather than to a 404."""
from flask import Blueprint, redirect, url_for

bp = Blueprint("favicon", __name__)


@bp.get("/favicon.ico")
def favicon():
    """The icon (an SVG in the static files, cached like them)."""
    return redirect(url_for("static", filename="common/favicon.svg"), 301)
