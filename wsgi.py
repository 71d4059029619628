from app import create_app

try:
    app = create_app()
except ValueError as error:
    # A wrong or missing setting: the check's message names it and what to set. The web server,
    # the scheduler, the worker and every `flask` command print that one line, not a traceback.
    raise SystemExit(f"Motorpool cannot start: {error}") from None
