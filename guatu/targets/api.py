"""The targets app over the API: targets with actual and forecast; rankings."""

# --- targets

# --- rankings
