"""Routing: estimate a request's complexity tier, then pick a model and its fallbacks."""
