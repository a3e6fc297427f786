"""Pages of the targets app. Thin: selectors read, services write, restrict() decides."""

# --- targets and pledges

# --- scoring and rankings

# --- bulletin
