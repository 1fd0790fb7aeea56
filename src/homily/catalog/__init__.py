"""The model catalog: which model ids exist, what they can do, and which upstream serves them."""
