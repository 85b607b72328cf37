"""One module per tab: its layout and its callbacks (component ids prefixed with its name)."""
