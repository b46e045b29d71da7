"""Contracts shared by Deskline's services: event envelope, enums, remote errors, run and test helpers."""
