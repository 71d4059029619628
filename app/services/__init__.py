"""Domain rules. Web views, the CLI and (later) the JSON API and scheduler call these;
models hold data and never commit."""
