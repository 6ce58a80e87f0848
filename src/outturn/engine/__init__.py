"""Backend-neutral analytics: Ibis ``Table -> Table`` functions. Only ``backends`` connects and executes."""
