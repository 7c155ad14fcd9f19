"""The read-only web console (`newscrawler web`): see app.py for its addresses."""
