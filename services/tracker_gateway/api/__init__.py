"""The REST surface for agents and integrations: auth, tickets, chat, the OpenAPI document."""
