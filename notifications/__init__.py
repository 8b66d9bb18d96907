"""Devices, inbox, preferences and push delivery (firebase-admin)."""
