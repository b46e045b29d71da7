"""The agent console: pages, the cookie session and CSRF, the console's reads, live events."""
