"""Real-browser tests: the application served by waitress, driven by Chromium through Playwright."""
