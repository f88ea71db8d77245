"""Backend of the citizens' app for compulsory social health insurance (ОСМС / МӘМС)."""
