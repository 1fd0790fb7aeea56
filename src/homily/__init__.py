"""Homily: a self-hosted gateway for the Gloo AI Completions V2 and Grounded Completions APIs."""

__version__ = "0.1.0"
