"""Content: publishers' items, durable ingestion, retrieval for search and grounded completions."""
