"""Cases: the analyst workbench (built in a later issue)."""
