"""Progress app: see the sections below."""
