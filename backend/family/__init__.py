"""Parents and guardians of minors: the links integrators feed, and what a parent reads."""
