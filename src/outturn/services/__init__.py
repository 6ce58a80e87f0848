"""Use-cases. Each opens the workspace's store, does one job in one transaction, and returns domain records."""
