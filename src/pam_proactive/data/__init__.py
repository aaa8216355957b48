"""Reading traveler data: batch loaders, typed contexts, cache and the seed's integration API."""
