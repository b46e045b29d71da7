"""A sender's file name, made safe for the download's Content-Disposition (api/messages.py)."""
from services.tracker_gateway.api.messages import safe_filename


def test_control_characters_and_paths_are_replaced():
    assert safe_filename("evil\r\nX-Injected: 1.txt") == "evil__X-Injected: 1.txt"
    assert safe_filename("../../etc/passwd") == ".._.._etc_passwd"
    assert safe_filename("C:\\boot.ini") == "C:_boot.ini"
    assert safe_filename("été.pdf") == "été.pdf"
    assert safe_filename(" \x00 ") == "_"
