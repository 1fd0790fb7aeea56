"""Provider adapters: one per upstream wire format, all behind `ProviderAdapter`."""
