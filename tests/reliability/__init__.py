"""Reliability suite: crashes, hostile input, odd questions, load (issue 6)."""
