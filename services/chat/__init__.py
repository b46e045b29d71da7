"""The chat service: live conversations between customers and agents, and their links to tickets."""
