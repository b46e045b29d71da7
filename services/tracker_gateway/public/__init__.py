"""What customers reach without logging in: the ticket tracker and the chat page."""
