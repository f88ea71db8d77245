"""The GraphQL glue: schema, context, permissions, errors and DataLoaders (never `graphql`)."""
