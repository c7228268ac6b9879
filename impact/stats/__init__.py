"""Pure statistics over sufficient statistics. Imports nothing of the project."""
