"""What services agree on over the wire: event envelope, enums, typed errors, RPC schemas, formats."""
