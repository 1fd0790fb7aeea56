"""Wire models: the shapes that cross the HTTP boundary, ordered like API.md."""
