"""Matching volunteers to shifts: candidates, invitations in waves, planning a week."""
