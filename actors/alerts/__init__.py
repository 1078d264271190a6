"""Alerts that mean something: pure rules over the log and a few polls (rules.py), and
the monitor that follows the log and writes `system.alert` on each transition."""
