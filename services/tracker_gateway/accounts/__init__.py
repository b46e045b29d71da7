"""Clients (tenants), agents, passwords, access and refresh tokens, login throttling."""
