"""Where my money went: a year's contributions for a person against what the Fund paid."""
