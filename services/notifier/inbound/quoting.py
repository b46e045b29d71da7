"""Cutting the quoted history below a reply: what the customer wrote this time, without the thread
their mail client appended (Gmail's "On ... wrote:", Outlook's "-----Original Message-----" or
"From: / Sent:" block, "> " quoted lines). The full original is kept beside it, so a wrong cut
loses nothing."""
import re

# Gmail, Apple Mail, Thunderbird: "On Mon, 30 Nov 2026 at 10:00, Support <x@y> wrote:", which Gmail may
# wrap over two lines. Also the common translations of "wrote".
_ON_WROTE = re.compile(
    r"^\s*(On|Le|Am|El|Il|Op)\s.{0,300}?(wrote|a écrit|schrieb|escribió|ha scritto|schreef)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Forwarded message)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook without the dashes: a "From:" line followed within a few lines by "Sent:"/"Date:" and "To:"/"Subject:".
_HEADER_FROM = re.compile(r"^\s*\**(From|De|Von|Van)\s*:\**\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\**(Sent|Date|Envoyé|Gesendet|To|Subject|Objet|Betreff|Cc)\s*:\**", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{20,}\s*$")  # Outlook's rule above the header block
_QUOTED = re.compile(r"^\s*>")
_RULE = re.compile(r"^\s*([-_*=]\s*){3,}$")  # a horizontal rule (HTML's <hr> as text is "* * *")


def _starts_header_block(lines, index):
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1:index + 6] if line.strip()]
    return sum(1 for line in following if _HEADER_NEXT.match(line)) >= 2


def cut_quoted(text):
    """(the new text, True if history was cut). Never returns empty for a non-empty message: a message
    that is all quote (a forward with nothing added) is kept whole."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = None
    for index, line in enumerate(lines):
        if _ORIGINAL.match(line) or _UNDERSCORES.match(line) or _starts_header_block(lines, index):
            cut = index
            break
        # "On ... wrote:" on one line, or wrapped over two.
        if _ON_WROTE.match(line) or (index + 1 < len(lines) and _ON_WROTE.match(line + " " + lines[index + 1])
                                     and lines[index + 1].rstrip().endswith(":")):
            cut = index
            break
        if _QUOTED.match(line):
            # A quoted block running to the end (only quotes and blanks below) is the history.
            if all(_QUOTED.match(rest) or not rest.strip() for rest in lines[index:]):
                cut = index
                break
    if cut is None:
        return _tidy(lines), False
    kept = lines[:cut]
    while kept and (_RULE.match(kept[-1]) or not kept[-1].strip()):  # the rule above the history
        kept.pop()
    reply = _tidy(kept)
    if not reply:
        return _tidy(lines), False
    return reply, True


def _tidy(lines):
    return "\n".join(line.rstrip() for line in lines).strip()
