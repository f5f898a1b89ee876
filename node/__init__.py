"""Guildhall application: settings, the Node object, domain services, inbox dispatch, worker, CLI."""
