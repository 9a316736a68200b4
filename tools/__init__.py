"""Development tools (data builders); not part of the installed package."""
