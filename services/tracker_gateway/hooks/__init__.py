"""Webhooks from outside parties (SendGrid's Inbound Parse): authenticated by a secret in the URL."""
