"""Developer tooling for the Endpoint Response pack (never part of the pack zip)."""
