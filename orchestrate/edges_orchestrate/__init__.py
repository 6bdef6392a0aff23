"""The Dagster code location of tap-edges: many Edges workspaces through Meltano."""
