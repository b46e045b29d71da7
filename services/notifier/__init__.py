"""The notifier service: emails a ticket's customer when it is created, updated or resolved."""
