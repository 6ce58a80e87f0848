"""Report builders (pure: records in, documents out) and renderers."""
