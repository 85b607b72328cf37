"""The Dash front end. It talks to the backend only through the JSON API (issue 4)."""
