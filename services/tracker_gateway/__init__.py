"""The tracker gateway: Deskline's one HTTP edge, and the tracker projector that feeds its public tracker.

One package per surface, each registered flat in `app.create_app`:
- `core/`: database, RPC pool, errors and their HTTP answers, security headers, client address,
  health probes, rate limits: what every surface uses;
- `accounts/`: clients (tenants), agents, passwords, access and refresh tokens, login throttling,
  creating tenants and agents (the CLI and tests), and the gateway's database migrations;
- `api/`: the REST surface (auth, tickets, chat) and its OpenAPI document;
- `console/`: the agent pages, their browser session and CSRF, their reads, the live event stream;
- `public/`: what customers reach without logging in: the ticket tracker (with the ticket's conversation),
  the web form per client and the chat page;
- `projector/`: the tracker projector, a nameko service of its own (`python -m
  services.tracker_gateway.projector run`) writing the read model (`projector/read_model.py`) that
  `public/` reads.
Templates and static files are grouped the same way (`console/`, `public/`, `common/`).
"""
import warnings

# nameko imports eventlet, which announces its deprecation; known (docs/decisions.md). The gateway
# imports it without monkey patching: gunicorn's gthread workers stay plain threads.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
