"""Guildhall application: settings, the Node, domain services, inbox dispatch, worker, CLI."""
