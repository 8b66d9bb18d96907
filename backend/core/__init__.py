"""Helpers shared by the domain apps (geography, time); no models of its own."""
