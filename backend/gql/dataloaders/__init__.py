"""DataLoaders, built anew for every request (a module-level loader would leak one person's
data into another's response).  Each batch reads on a pooled connection of its own."""

from backend.gql.dataloaders.loaders import Loaders

__all__ = ["Loaders"]
