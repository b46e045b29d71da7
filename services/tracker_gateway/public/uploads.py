"""Files a customer sends with the web form or a tracker message: read from a multipart body, within limits.

The gateway's body limit (GATEWAY_MAX_BODY_BYTES, 256 KB) suits JSON; these two forms raise it for
their own request to the attachments' limit plus that much room for the text fields. Past it the body
is not read at all (413); under it, more than PUBLIC_ATTACHMENTS_MAX_FILES files is a 422 and more than
PUBLIC_ATTACHMENTS_MAX_BYTES in all a 413, each said on the form next to the attachments field. The
pages check both before sending too (static/public/attachments.js), so a person rarely meets them.

The tickets service checks its own, wider limits again (contract A: 10 files, 10 MB): what passes here
passes there.
"""
import base64

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from services.tracker_gateway.api.messages import safe_filename as header_safe

FIELD = "attachments"
FILENAME_MAX = 255
CONTENT_TYPE_MAX = 255


class UploadRefused(Exception):
    """Attachments past a limit: `status` (413 or 422) and the sentence the form shows."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def limits():
    config = current_app.config
    return config["PUBLIC_ATTACHMENTS_MAX_FILES"], config["PUBLIC_ATTACHMENTS_MAX_BYTES"]


def megabytes(size):
    return f"{size / (1024 * 1024):g} MB"


def too_large_message():
    return f"The attachments are larger than {megabytes(limits()[1])} in all. Attach smaller files, or fewer."


def read_form():
    """This request's form fields, with the body limit raised for attachments; UploadRefused(413) past it."""
    request.max_content_length = limits()[1] + current_app.config["MAX_CONTENT_LENGTH"]
    try:
        request.files  # noqa: B018  (parses the whole body: the limit applies here)
        return request.form
    except RequestEntityTooLarge:
        raise UploadRefused(413, too_large_message()) from None


def safe_filename(name):
    """The name a person gave their file, without folders or control characters (it is shown and
    offered back as a download name, never used as a path)."""
    return header_safe(name.replace("\\", "/").rsplit("/", 1)[-1])[:FILENAME_MAX]


def attachments():
    """The files of the request's `attachments` field as contract A's [{filename, content_type,
    data_b64}]; UploadRefused past a limit. An empty file input (no file chosen) sends no file."""
    most_files, most_bytes = limits()
    files = [upload for upload in request.files.getlist(FIELD) if upload.filename]
    if len(files) > most_files:
        raise UploadRefused(422, f"Attach at most {most_files} files.")
    result, total = [], 0
    for upload in files:
        data = upload.stream.read(most_bytes - total + 1)
        total += len(data)
        if total > most_bytes:
            raise UploadRefused(413, too_large_message())
        result.append({
            "filename": safe_filename(upload.filename),
            "content_type": (upload.mimetype or "application/octet-stream")[:CONTENT_TYPE_MAX],
            "data_b64": base64.b64encode(data).decode("ascii"),
        })
    return result
