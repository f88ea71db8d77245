"""The kinds of caller the fuzz run speaks as."""

KINDS = ("anonymous", "citizen", "desk", "desk_window", "integrator")
"""Nobody; a citizen's app; a desk worker with no consent window; a desk worker with a window
open on the citizen; an integrator holding every scope."""
