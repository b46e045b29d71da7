"""The gateway's plumbing every surface uses: database, RPC, errors, headers, client address, health, rate limits."""
