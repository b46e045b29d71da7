"""Email in: one path for both intakes (the SMTP receiver and SendGrid's Inbound Parse through the
gateway): parse (parsing.py), refuse or ignore (guards.py), find the ticket (matching.py) and hand the
message to the tickets service (intake.py)."""
