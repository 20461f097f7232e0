"""The prediction server and web UI (needs the extra: pip install 'trainlab[serve]')."""
