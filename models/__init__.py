"""SQLAlchemy models, one domain a module, and the database handle. Knows nothing of GraphQL."""
