"""Example Motorpool plugin; the hooks live in ``motorpool_trailers.plugin``."""
