"""tap-edges: a Singer tap for the Edges API (LinkedIn data), incremental by run continuation."""
