"""Tradition profiles: the system guidance that shapes answers for a theological tradition."""
