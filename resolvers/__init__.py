"""What each operation does: permission policy, validation, reads, writes. No GraphQL types here."""
