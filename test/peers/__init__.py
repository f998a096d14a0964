"""Kaspa-like test peers for the sensor's interop suite."""
