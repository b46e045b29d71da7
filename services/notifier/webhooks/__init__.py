"""Webhooks: each client's endpoints, and the process (`python -m services.notifier webhooks`) that
delivers events to them from queues of its own, so a slow or dead receiver never holds up an e-mail."""
