"""The moderators' console: GraphiQL served by the hub, its pinned assets, ready-made operations."""
